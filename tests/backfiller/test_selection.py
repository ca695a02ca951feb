"""Which peer segments get fetched: pure selection over names."""

import hashlib
from datetime import datetime, timedelta

from common.segments import hash_name, segment_file_name

from backfiller.selection import (HAVE, RECENT, SUPERSEDED, TEMP, TOO_OLD, UNPARSEABLE,
                                  select_missing)

HOUR_PATH = "/base/stream/source/2026-11-27T10"
HOUR = datetime(2026, 11, 27, 10)
NOW = datetime(2026, 11, 27, 12)
CUTOFF = timedelta(seconds=120)
TWO = timedelta(seconds=2)


def name(seconds, type="full", data=b"x", duration=TWO, hash=None):
    start = HOUR + timedelta(seconds=seconds)
    return segment_file_name(start, duration, type,
                             hash or hash_name(hashlib.sha256(data).digest()))


def select(local, peer, now=NOW, earliest=None):
    wanted, skipped = select_missing(HOUR_PATH, local, peer, now, CUTOFF, earliest)
    return [w.path.rsplit("/", 1)[1] for w in wanted], skipped


def test_missing_segments_are_selected_newest_first():
    wanted, skipped = select([name(0)], [name(0), name(2), name(4)])
    assert wanted == [name(4), name(2)]
    assert skipped[HAVE] == 1


def test_selected_segments_carry_full_start_and_hash():
    wanted, _ = select_missing(HOUR_PATH, [], [name(6, data=b"abc")], NOW, CUTOFF)
    assert wanted[0].start == HOUR + timedelta(seconds=6)
    assert wanted[0].hash == hash_name(hashlib.sha256(b"abc").digest())
    assert wanted[0].path == HOUR_PATH + "/" + name(6, data=b"abc")


def test_same_segment_written_with_another_duration_form_counts_as_held():
    ours = name(0)
    theirs = ours.replace("-2.000-", "-2.0-")
    assert theirs != ours
    wanted, skipped = select([ours], [theirs])
    assert wanted == [] and skipped[HAVE] == 1


def test_temp_and_unparseable_names_are_skipped():
    peer = [name(0, type="temp", hash="abc123"), "junk.ts", "00:02.000000-2.000-full-x.ts",
            "../../etc/passwd", ".hidden", name(4).replace(".ts", ".ts.tmp"), name(8)]
    wanted, skipped = select([], peer)
    assert wanted == [name(8)]
    assert skipped[TEMP] == 1
    assert skipped[UNPARSEABLE] == 5


def test_non_string_names_are_unparseable_not_errors():
    wanted, skipped = select([], [None, 3, name(0)])
    assert wanted == [name(0)] and skipped[UNPARSEABLE] == 2


def test_segments_younger_than_the_cutoff_are_left_to_the_downloader():
    now = HOUR + timedelta(seconds=200)
    # started 200 - 100 = 100 s ago: too recent; 200 - 80 = 120 s ago: old enough
    wanted, skipped = select([], [name(100), name(80)], now=now)
    assert wanted == [name(80)]
    assert skipped[RECENT] == 1


def test_partial_where_we_hold_a_full_is_not_copied():
    peer = [name(0, type="partial", data=b"p"), name(2, type="suspect", data=b"s"),
            name(4, type="partial", data=b"q")]
    wanted, skipped = select([name(0), name(2)], peer)
    assert wanted == [name(4, type="partial", data=b"q")]
    assert skipped[SUPERSEDED] == 2


def test_partial_a_few_ms_from_a_full_is_superseded_but_not_one_further_away():
    start = HOUR + timedelta(seconds=10)
    near = segment_file_name(start + timedelta(milliseconds=5), TWO, "partial",
                             hash_name(hashlib.sha256(b"n").digest()))
    far = segment_file_name(start + timedelta(milliseconds=500), TWO, "partial",
                            hash_name(hashlib.sha256(b"f").digest()))
    wanted, skipped = select([name(10)], [near, far])
    assert wanted == [far] and skipped[SUPERSEDED] == 1


def test_full_replaces_our_partial_and_other_full_copies_are_copied():
    # Our partial at 0 s: the peer's full is better. A full at 2 s with other bytes than ours:
    # copied, so every node ends with the same set and chooses the same way.
    wanted, _ = select([name(0, type="partial"), name(2, data=b"ours")],
                       [name(0), name(2, data=b"theirs")])
    assert sorted(wanted) == sorted([name(0), name(2, data=b"theirs")])


def test_partial_copied_when_we_hold_only_other_partials():
    wanted, _ = select([name(0, type="partial", data=b"a")], [name(0, type="partial", data=b"b")])
    assert wanted == [name(0, type="partial", data=b"b")]


def test_segments_ending_before_earliest_are_too_old():
    earliest = HOUR + timedelta(seconds=4)
    wanted, skipped = select([], [name(0), name(2), name(3)], earliest=earliest)
    assert wanted == [name(3)]
    assert skipped[TOO_OLD] == 2


def test_duplicate_peer_names_are_fetched_once():
    wanted, _ = select([], [name(0), name(0).replace("-2.000-", "-2.0-")])
    assert len(wanted) == 1


def test_local_temp_files_do_not_count_as_held():
    temp = name(0, type="temp", hash="tmpid")
    wanted, _ = select([temp, "junk"], [name(0)])
    assert wanted == [name(0)]
