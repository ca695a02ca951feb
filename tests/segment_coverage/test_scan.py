"""Scanning a synthetic archive with known holes, partials, duplicates and overlaps."""

import os
import time
from datetime import datetime, timedelta

from segment_coverage import scan as scan_module
from segment_coverage.figures import Figures
from segment_coverage.scan import Scanner, hours_to_examine
from support.archive import write_segment

S = timedelta(seconds=1)


def _scan(base, scenario, now=None, window=48, map_hours=48):
    return Scanner(base).scan(scenario.STREAM, scenario.VARIANT, now or scenario.NOW,
                              window, map_hours)


def test_hour_with_holes_partials_duplicates_and_overlaps(shared_archive, scenario):
    coverage = _scan(shared_archive, scenario)
    assert [c.hour for c in coverage.hours] == [scenario.H0, scenario.H1, scenario.H2]
    assert coverage.get(scenario.H0).figures == Figures(
        full=1797, suspect=1, partial=2, temp=1, unparseable=2,
        full_duration=3594 * S, suspect_duration=2 * S, partial_duration=4 * S,
        duplicates=2, expected=3600 * S, covered=3594 * S,
        holes=2, hole_duration=6 * S, overlaps=1, overlap_duration=1 * S, partials_chosen=2,
    )


def test_previous_and_current_hours(shared_archive, scenario):
    coverage = _scan(shared_archive, scenario)
    assert coverage.previous.hour == scenario.H1
    assert coverage.previous.closed
    assert coverage.previous.figures == Figures(
        full=900, full_duration=timedelta(seconds=1800.5), expected=3600 * S,
        covered=1800 * S, holes=1, hole_duration=1800 * S,
    )
    # The current hour is judged up to 30 s before now; hour 01's last segment covers its
    # first half second.
    current = coverage.current
    assert current.hour == scenario.H2
    assert not current.closed
    assert current.end == scenario.NOW - 30 * S
    assert current.figures == Figures(
        full=300, full_duration=600 * S, expected=2370 * S,
        covered=timedelta(seconds=600.5), holes=1, hole_duration=timedelta(seconds=1769.5),
    )


def test_totals_are_the_sum_of_the_archived_hours(shared_archive, scenario):
    totals = _scan(shared_archive, scenario).totals
    assert (totals.full, totals.holes, totals.overlaps, totals.duplicates) == (2997, 4, 1, 2)
    assert totals.hole_duration == timedelta(seconds=3575.5)
    assert totals.covered == timedelta(seconds=5994.5)
    assert totals.expected == 9570 * S


def test_hours_without_a_directory_are_examined_but_not_totalled(shared_archive, scenario):
    later = scenario.NOW + timedelta(hours=2)  # hours 03 and 04 have no directory
    coverage = _scan(shared_archive, scenario, now=later)
    h4 = scenario.H2 + timedelta(hours=2)
    assert [c.hour for c in coverage.hours][-2:] == [h4 - timedelta(hours=1), h4]
    assert not coverage.current.archived
    assert coverage.current.figures.holes == 1
    assert coverage.current.figures.hole_duration == 2370 * S
    assert coverage.totals.holes == 4  # unchanged: hours 03 and 04 are not in the totals


def test_hours_to_examine():
    now = datetime(2026, 1, 2, 5, 30)
    old = datetime(2025, 12, 1, 7)
    hours = hours_to_examine([old, datetime(2026, 1, 2, 1)], now, window_hours=3)
    # every archived hour, the window (03..05) and always current and previous
    assert hours == [old, datetime(2026, 1, 2, 1), datetime(2026, 1, 2, 3),
                     datetime(2026, 1, 2, 4), datetime(2026, 1, 2, 5)]
    # the window does not reach before the first archived hour
    assert hours_to_examine([datetime(2026, 1, 2, 4)], now, 48) == [
        datetime(2026, 1, 2, 4), datetime(2026, 1, 2, 5)]
    # nothing archived: still the current and previous hours
    assert hours_to_examine([], now, 48) == [datetime(2026, 1, 2, 4), datetime(2026, 1, 2, 5)]
    # directories in the future are not examined
    assert hours_to_examine([datetime(2026, 1, 3, 0)], now, 2) == [
        datetime(2026, 1, 2, 4), datetime(2026, 1, 2, 5)]


def test_variant_directory_junk_is_ignored(archive, scenario):
    variant_dir = os.path.join(archive, scenario.STREAM, scenario.VARIANT)
    os.mkdir(os.path.join(variant_dir, "not-an-hour"))
    open(os.path.join(variant_dir, "notes.txt"), "w").close()
    coverage = _scan(archive, scenario)
    assert [c.hour for c in coverage.hours] == [scenario.H0, scenario.H1, scenario.H2]


def _count_scans(monkeypatch):
    scanned = []
    real = scan_module.scan_hour

    def counting(hours_path, hour, end, want_pixels):
        scanned.append(hour)
        return real(hours_path, hour, end, want_pixels)

    monkeypatch.setattr(scan_module, "scan_hour", counting)
    return scanned


def test_closed_unchanged_hours_are_not_rescanned(archive, scenario, monkeypatch):
    scanned = _count_scans(monkeypatch)
    scanner = Scanner(archive)
    first = scanner.scan(scenario.STREAM, scenario.VARIANT, scenario.NOW, 48, 48)
    assert scanned == [scenario.H0, scenario.H1, scenario.H2]
    assert (first.rescanned, first.reused) == (3, 0)

    scanned.clear()
    later = scenario.NOW + timedelta(minutes=1)
    second = scanner.scan(scenario.STREAM, scenario.VARIANT, later, 48, 48)
    assert scanned == [scenario.H2]  # only the open hour
    assert (second.rescanned, second.reused) == (1, 2)
    assert second.get(scenario.H0) == first.get(scenario.H0)

    # A new file in hour 00 changes its directory: hour 00 is scanned again, and so is hour 01,
    # whose start may be covered by hour 00's last segment.
    scanned.clear()
    write_segment(archive, scenario.STREAM, scenario.VARIANT, scenario.H0 + 1000 * S, 2 * S,
                  b"backfilled")
    third = scanner.scan(scenario.STREAM, scenario.VARIANT, later, 48, 48)
    assert scanned == [scenario.H0, scenario.H1, scenario.H2]
    assert third.get(scenario.H0).figures.holes == 1
    assert third.get(scenario.H0).figures.hole_duration == 4 * S

    # A directory whose mtime is not well before the scan that read it (here: after it) may
    # hide a change made in the same clock tick, so the hour is scanned once more; once its
    # directories are old, it settles.
    hour_dir = os.path.join(archive, scenario.STREAM, scenario.VARIANT, "2026-01-01T00")
    future = time.time_ns() + 10**10
    os.utime(hour_dir, ns=(future, future))
    scanner.scan(scenario.STREAM, scenario.VARIANT, later, 48, 48)
    scanned.clear()
    scanner.scan(scenario.STREAM, scenario.VARIANT, later, 48, 48)
    assert scanned == [scenario.H0, scenario.H1, scenario.H2]
    scenario.age_directories(archive)
    scanner.scan(scenario.STREAM, scenario.VARIANT, later, 48, 48)
    scanned.clear()
    scanner.scan(scenario.STREAM, scenario.VARIANT, later, 48, 48)
    assert scanned == [scenario.H2]


def test_an_hour_entering_the_map_gets_its_pixels(archive, scenario, monkeypatch):
    scanner = Scanner(archive)
    coverage = scanner.scan(scenario.STREAM, scenario.VARIANT, scenario.NOW, 48, map_hours=1)
    assert coverage.get(scenario.H0).pixels is None
    assert coverage.get(scenario.H2).pixels is not None
    coverage = scanner.scan(scenario.STREAM, scenario.VARIANT, scenario.NOW, 48, map_hours=3)
    assert coverage.get(scenario.H0).pixels is not None
