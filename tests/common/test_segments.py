import hashlib
import os
import time
from datetime import datetime, timedelta

import pytest

from common import segments
from common.segments import (ContainsHoles, SelectionStats, format_segment_path, get_best_segments,
                             hash_name, hour_paths_for_range, parse_hour, parse_segment_path)
from support.archive import write_segment

HASH = hash_name(hashlib.sha256(b"x").digest())
T0 = datetime(2026, 11, 27, 10, 0)
S = timedelta(seconds=1)


def age_dirs(root, seconds=60):
    """Make every directory look settled, so the hour cache may keep it."""
    past = time.time() - seconds
    for dirpath, _, _ in os.walk(root):
        os.utime(dirpath, (past, past))


# --- names ---------------------------------------------------------------------------------

def test_parses_full_path():
    path = f"/base/stream/source/2026-11-27T13/45:51.608000-2.0-full-{HASH}.ts"
    seg = parse_segment_path(path)
    assert seg.stream == "stream" and seg.variant == "source"
    assert seg.start == datetime(2026, 11, 27, 13, 45, 51, 608000)
    assert seg.duration == timedelta(seconds=2)
    assert seg.end == datetime(2026, 11, 27, 13, 45, 53, 608000)
    assert seg.type == "full" and seg.hash == HASH and not seg.is_partial


def test_parses_bare_name_and_other_duration_forms():
    for text, expected in [("2.0", 2000000), ("2.000", 2000000), ("1.996", 1996000), ("2", 2000000),
                           ("0.5", 500000)]:
        seg = parse_segment_path(f"45:51.608000-{text}-partial-{HASH}.ts")
        assert seg.duration == timedelta(microseconds=expected)
        assert seg.is_partial and seg.stream is None


@pytest.mark.parametrize("name,why", [
    ("45:51.608-2.000-full-x.ts.tmp", ".ts"),
    (f"45:51.608000-2.000-bogus-{HASH}.ts", "unknown type"),
    ("45:51.608000-2.000-full-x.ts", "base64"),
    (f"45:51.608000-2.000-full-{HASH[:-1]}!.ts", "base64"),
    (f"45:51.608000-2.000-full-{HASH}==.ts", "base64"),
    (f"61:51.608000-2.000-full-{HASH}.ts", "offset"),
    (f"45:51.608000-2.0.0-full-{HASH}.ts", "duration"),
    (f"45:51.608000-0.000-full-{HASH}.ts", "zero"),
    ("45:51.608000-2.000-temp-.ts", "temp"),
    ("garbage", ".ts"),
])
def test_bad_names_raise_with_path(name, why):
    path = f"/b/s/v/2026-11-27T13/{name}"
    with pytest.raises(ValueError) as e:
        parse_segment_path(path)
    assert path in str(e.value) and why in str(e.value)


def test_bad_hour_raises():
    with pytest.raises(ValueError, match="2026-13-27T13"):
        parse_segment_path(f"/b/s/v/2026-13-27T13/45:51.608000-2.0-full-{HASH}.ts")
    with pytest.raises(ValueError):
        parse_hour("2026-11-27 13")


def test_format_and_parse_round_trip():
    start = datetime(2026, 11, 27, 13, 5, 7, 123456)
    path = format_segment_path("/base", "s", "v", start, timedelta(seconds=2, microseconds=1000),
                               "suspect", HASH)
    assert path == f"/base/s/v/2026-11-27T13/05:07.123456-2.001-suspect-{HASH}.ts"
    seg = parse_segment_path(path)
    assert (seg.start, seg.duration, seg.type, seg.hash) == (
        start, timedelta(seconds=2, microseconds=1000), "suspect", HASH)


def test_hour_paths_for_range():
    paths = hour_paths_for_range("/b/s/v", datetime(2026, 11, 27, 23, 30), datetime(2026, 11, 28, 1))
    assert paths == ["/b/s/v/2026-11-27T23", "/b/s/v/2026-11-28T00"]


# --- selection -----------------------------------------------------------------------------

def seg(base, offset, duration=2, type="full", data=None, variant="v"):
    start = T0 + timedelta(seconds=offset)
    data = data if data is not None else f"{offset}-{duration}-{type}".encode()
    return write_segment(base, "s", variant, start, timedelta(seconds=duration), data, type)


def best(base, start, end, variant="v", **kw):
    result = get_best_segments(os.path.join(base, "s", variant), T0 + start * S, T0 + end * S, **kw)
    return [None if s is None else (s.start - T0).total_seconds() for s in result]


def test_contiguous_run(tmp_path):
    for i in range(5):
        seg(tmp_path, i * 2)
    assert best(tmp_path, 0, 10) == [0, 2, 4, 6, 8]
    assert best(tmp_path, 1, 9) == [0, 2, 4, 6, 8]
    assert best(tmp_path, 0, 11) == [0, 2, 4, 6, 8, None]
    assert best(tmp_path, -1, 10) == [None, 0, 2, 4, 6, 8]


def test_range_ending_in_hole_never_returns_later_segment(tmp_path):
    seg(tmp_path, 0)
    seg(tmp_path, 10)
    assert best(tmp_path, 0, 5) == [0, None]
    assert best(tmp_path, 0, 10) == [0, None]
    assert best(tmp_path, 2, 10) == [None]


def test_segment_ending_at_start_is_not_returned(tmp_path):
    seg(tmp_path, 0)
    seg(tmp_path, 2)
    assert best(tmp_path, 2, 4) == [2]


def test_small_drift_is_contiguous_large_overlap_skipped(tmp_path):
    seg(tmp_path, 0)
    seg(tmp_path, 2.009)  # 9 ms late: contiguous
    seg(tmp_path, 3.5)  # overlaps by 0.509 s: skipped
    seg(tmp_path, 4.0)  # 9 ms early: contiguous
    stats = SelectionStats()
    assert best(tmp_path, 0, 6, stats=stats) == [0, 2.009, 4.0]
    assert stats.overlaps == 1 and stats.holes == 0


def test_gap_over_tolerance_is_a_hole(tmp_path):
    seg(tmp_path, 0)
    seg(tmp_path, 2.011)
    stats = SelectionStats()
    assert best(tmp_path, 0, 4, stats=stats) == [0, None, 2.011]
    assert stats.holes == 1 and stats.hole_duration == timedelta(milliseconds=11)


def test_partial_breaks_the_run_and_full_wins(tmp_path):
    seg(tmp_path, 0)
    seg(tmp_path, 2, type="partial")
    seg(tmp_path, 4)
    seg(tmp_path, 6, type="partial", data=b"p" * 10)
    seg(tmp_path, 6, type="full", data=b"f")
    seg(tmp_path, 6, type="temp", data=b"t" * 100)
    assert best(tmp_path, 0, 8) == [0, 2, None, 4, 6]
    assert get_best_segments(os.path.join(tmp_path, "s", "v"), T0, T0 + 8 * S)[-1].type == "full"


def test_best_choice_rules(tmp_path):
    # suspect beats partial; then the largest file
    seg(tmp_path, 0, type="partial", data=b"p" * 100)
    small = seg(tmp_path, 0, type="suspect", data=b"s")
    big = seg(tmp_path, 0, type="suspect", data=b"ss")
    # among fulls, longest duration beats a larger file
    seg(tmp_path, 10, duration=2, data=b"f" * 100)
    longest = seg(tmp_path, 10, duration=3, data=b"f")
    chosen = get_best_segments(os.path.join(tmp_path, "s", "v"), T0, T0 + 13 * S)
    assert chosen[0].path == big and small != big
    assert chosen[-1].path == longest


def test_equal_fulls_tie_break_on_hash(tmp_path):
    a = seg(tmp_path, 0, data=b"aa")
    b = seg(tmp_path, 0, data=b"bb")
    chosen = get_best_segments(os.path.join(tmp_path, "s", "v"), T0, T0 + 2 * S)
    assert chosen[0].path == max([a, b], key=lambda p: parse_segment_path(p).hash)


def test_allow_holes_false(tmp_path):
    seg(tmp_path, 0)
    seg(tmp_path, 2)
    seg(tmp_path, 6)
    assert best(tmp_path, 0, 4, allow_holes=False) == [0, 2]
    with pytest.raises(ContainsHoles):
        best(tmp_path, 0, 8, allow_holes=False)
    with pytest.raises(ContainsHoles):
        best(tmp_path, 100, 108, allow_holes=False)


def test_empty_range_is_one_hole(tmp_path):
    stats = SelectionStats()
    assert best(tmp_path, 0, 10, stats=stats) == [None]
    assert stats.hole_duration == 10 * S and stats.covered == timedelta(0)


def test_segment_from_previous_hour_covers_start(tmp_path):
    seg(tmp_path, -1)  # 09:59:59 - 10:00:01
    seg(tmp_path, 1)
    assert best(tmp_path, 0, 3) == [-1, 1]


def test_junk_files_are_ignored(tmp_path):
    seg(tmp_path, 0)
    hour = os.path.join(tmp_path, "s", "v", "2026-11-27T10")
    open(os.path.join(hour, "junk.txt"), "w").close()
    open(os.path.join(hour, "00:02.000000-2.000-full-nothash.ts"), "w").close()
    assert best(tmp_path, 0, 2) == [0]


def test_cache_never_serves_stale_listing(tmp_path):
    # three hours, so the middle one goes through the cached-chain path
    for hour in range(3):
        seg(tmp_path, hour * 3600)
        seg(tmp_path, hour * 3600 + 2)
    age_dirs(tmp_path)
    first = best(tmp_path, 0, 3 * 3600)
    assert best(tmp_path, 0, 3 * 3600) == first
    hour1 = os.path.join(tmp_path, "s", "v", "2026-11-27T11")
    added = seg(tmp_path, 3600 + 4)  # added
    assert 3604 in best(tmp_path, 0, 3 * 3600)
    age_dirs(tmp_path)
    assert 3604 in best(tmp_path, 0, 3 * 3600)
    renamed = added.replace("-full-", "-partial-")
    os.rename(added, renamed)  # renamed
    chosen = get_best_segments(os.path.join(tmp_path, "s", "v"), T0, T0 + 3 * 3600 * S)
    assert [s.type for s in chosen if s and s.start == T0 + 3604 * S] == ["partial"]
    age_dirs(tmp_path)
    os.remove(renamed)  # removed
    assert 3604 not in best(tmp_path, 0, 3 * 3600)
    assert os.path.isdir(hour1)


def test_cache_is_bounded():
    cache = segments.HourCache(max_segments=10)
    for i in range(5):
        entry = segments._HourEntry(None, [])
        entry.size = 4
        cache._store(f"/h{i}", entry)
    assert cache._size <= 10 and len(cache._entries) == 2


def test_long_range_yields_to_other_greenlets(tmp_path):
    import gevent
    for hour in range(4):
        seg(tmp_path, hour * 3600)
    segments._cache.clear()
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(1) or gevent.sleep(0) for _ in range(100)])
    best(tmp_path, 0, 4 * 3600)
    assert ticks, "get_best_segments never let another greenlet run while parsing hours"
    ticker.kill()


def test_is_final_segment_name():
    from common.segments import is_final_segment_name
    hash = "A" * 43
    assert is_final_segment_name(f"01:02.345678-2.000-full-{hash}.ts")
    assert is_final_segment_name(f"01:02-2-partial-{hash}.ts")  # a non-canonical accepted form
    for name in (f"01:02.345678-2.000-temp-{hash}.ts", "01:02.345678-2.000-temp-x.ts",
                 f"01:02.345678-2.000-full-{hash}", f"61:02.345678-2.000-full-{hash}.ts",
                 "notes.txt", f"01:02.345678-0.000-full-{hash}.ts"):
        assert not is_final_segment_name(name), name


def test_start_text_slices_canonical_names_only():
    from common.segments import segment_file_name, start_text
    start = datetime(2026, 11, 27, 13, 45, 51, 608765)
    rel = f"2026-11-27T13/{segment_file_name(start, timedelta(seconds=2), 'full', HASH)}"
    assert start_text(rel) == start.isoformat(timespec="milliseconds") == "2026-11-27T13:45:51.608"
    assert start_text(f"2026-11-27T13/45:51-2-full-{HASH}.ts") is None
