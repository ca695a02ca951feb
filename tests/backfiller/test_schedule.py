"""Which hours a pass checks, and when sweeps happen."""

from datetime import datetime, timedelta

import pytest

from backfiller.schedule import (RECENT, SWEEP, earliest_wanted, hours_for_pass, parse_start,
                                 pass_kind)

NOW = datetime(2026, 11, 27, 12, 30)
H = timedelta(hours=1)
HOURS = [datetime(2026, 11, 27, h) for h in (8, 12, 9, 11, 10, 13)]


def test_start_as_hours_back_or_timestamp():
    assert parse_start("6") == timedelta(hours=6)
    assert parse_start("1.5") == timedelta(hours=1.5)
    assert parse_start("2026-11-27T10:00:00") == datetime(2026, 11, 27, 10)
    assert parse_start("2026-11-27T10:00:00+01:00") == datetime(2026, 11, 27, 9)


@pytest.mark.parametrize("bad", ["", "yesterday", "-3", "2026-13-01T00:00"])
def test_bad_start_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="--start"):
        parse_start(bad)


def test_sweep_first_then_recent_until_the_interval_passes():
    interval = timedelta(minutes=30)
    assert pass_kind(NOW, None, interval) == SWEEP
    assert pass_kind(NOW, NOW - timedelta(minutes=29), interval) == RECENT
    assert pass_kind(NOW, NOW - interval, interval) == SWEEP


def test_recent_pass_checks_the_last_n_hours_newest_first():
    assert hours_for_pass(HOURS, RECENT, NOW, 3, None) == [
        datetime(2026, 11, 27, h) for h in (13, 12, 11, 10)]  # 13: a peer clock ahead is kept
    assert hours_for_pass(HOURS, RECENT, NOW, 1, None) == [
        datetime(2026, 11, 27, h) for h in (13, 12)]


def test_sweep_checks_every_hour_newest_first():
    assert hours_for_pass(HOURS, SWEEP, NOW, 3, None) == sorted(HOURS, reverse=True)


def test_earliest_bounds_both_kinds():
    earliest = datetime(2026, 11, 27, 9, 45)
    assert hours_for_pass(HOURS, SWEEP, NOW, 3, earliest)[-1] == datetime(2026, 11, 27, 9)
    assert hours_for_pass(HOURS, RECENT, NOW, 10, earliest)[-1] == datetime(2026, 11, 27, 9)
    late = datetime(2026, 11, 27, 12, 10)
    assert hours_for_pass(HOURS, RECENT, NOW, 3, late) == [
        datetime(2026, 11, 27, 13), datetime(2026, 11, 27, 12)]


def test_earliest_wanted_combines_start_and_pruning():
    assert earliest_wanted(NOW) is None
    assert earliest_wanted(NOW, timedelta(hours=2)) == NOW - 2 * H
    assert earliest_wanted(NOW, datetime(2026, 1, 1)) == datetime(2026, 1, 1)
    # pruning after 1 h wins over a start 2 h back: never fetch what will be deleted
    assert earliest_wanted(NOW, timedelta(hours=2), timedelta(hours=1)) == NOW - H
    assert earliest_wanted(NOW, None, timedelta(hours=5)) == NOW - 5 * H
