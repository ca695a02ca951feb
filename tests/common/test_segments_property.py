"""get_best_segments against a brute-force oracle over generated archives.

The oracle reads every file of every hour, picks the best per start time with the docs/design.md
rules and walks greedily, with none of the implementation's caching, bisecting or per-hour
chains. Archives straddle hour boundaries, so first, middle and last hours and the look-back into
the previous hour are all exercised, cold and then warm (from the cache).
"""

import os
import tempfile
import time
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.segments import ContainsHoles, get_best_segments, parse_segment_path
from support.archive import write_segment

T0 = datetime(2026, 11, 27, 10, 59, 50)
TOL = timedelta(milliseconds=10)
# Places near hour boundaries (in seconds after T0), so short archives span four hours.
ANCHORS = [0, 10, 20, 1800, 3600, 3610, 3620, 7200, 7210]

# A run: consecutive segments (the normal case), with a few ms of drift between them.
run_spec = st.tuples(
    st.sampled_from(ANCHORS),
    st.integers(0, 12000),  # ms after the anchor
    st.lists(st.tuples(
        st.sampled_from([1000, 2000, 2000, 2000, 1996, 2004, 3000]),  # duration ms
        st.sampled_from(["full", "full", "full", "full", "partial", "suspect", "temp"]),
        st.sampled_from([0, 0, 0, 0, 3, -3, 10, -10, 11, -11, 500, -700]),  # drift to next, ms
        st.integers(1, 3),  # size factor
    ), min_size=1, max_size=12),
)
range_spec = st.one_of(
    st.tuples(st.sampled_from(ANCHORS), st.integers(-3000, 12000), st.integers(1, 8000000)),
    st.tuples(st.just(0), st.integers(-3000, 12000), st.just(7300000)),  # every hour
)


def oracle(hours_path, start, end):
    candidates = {}
    for hour in os.listdir(hours_path):
        for name in os.listdir(os.path.join(hours_path, hour)):
            path = os.path.join(hours_path, hour, name)
            s = parse_segment_path(path)
            if s.type == "temp":
                continue
            candidates.setdefault(s.start, []).append((s, os.path.getsize(path)))

    def better(a, b):
        (sa, za), (sb, zb) = a, b
        order = {"full": 2, "suspect": 1, "partial": 0}
        if order[sa.type] != order[sb.type]:
            return order[sa.type] > order[sb.type]
        if sa.type == "full" and sa.duration != sb.duration:
            return sa.duration > sb.duration
        if za != zb:
            return za > zb
        return sa.hash > sb.hash

    best = []
    for start_time in sorted(candidates):
        choice = candidates[start_time][0]
        for other in candidates[start_time][1:]:
            if better(other, choice):
                choice = other
        best.append(choice[0])

    out, prev = [], None
    for s in best:
        if s.start >= end:
            break
        if s.end <= start:
            continue
        if prev is None:
            if s.start > start + TOL:
                out.append(None)
        elif s.start < prev.end - TOL:
            continue
        elif s.start > prev.end + TOL or prev.is_partial:
            out.append(None)
        out.append(s)
        prev = s
    if prev is None or prev.end < end - TOL:
        out.append(None)
    return out


def make_archive(base, runs):
    for r, (anchor, ms, segments) in enumerate(runs):
        start = T0 + timedelta(seconds=anchor, milliseconds=ms)
        for i, (duration, type, drift, size) in enumerate(segments):
            duration = timedelta(milliseconds=duration)
            write_segment(base, "s", "v", start, duration, f"{r}.{i}".encode() * size, type)
            start += duration + timedelta(milliseconds=drift)


def settle(base):
    past = time.time() - 60
    for dirpath, _, _ in os.walk(base):
        os.utime(dirpath, (past, past))


def paths(result):
    return [None if s is None else s.path for s in result]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(run_spec, max_size=8), range_spec)
def test_matches_oracle(runs, range_):
    anchor, offset_ms, length_ms = range_
    start = T0 + timedelta(seconds=anchor, milliseconds=offset_ms)
    end = start + timedelta(milliseconds=length_ms)
    with tempfile.TemporaryDirectory() as base:
        make_archive(base, runs)
        hours_path = os.path.join(base, "s", "v")
        os.makedirs(hours_path, exist_ok=True)
        expected = paths(oracle(hours_path, start, end))
        assert paths(get_best_segments(hours_path, start, end)) == expected  # cold, unsettled
        settle(base)
        assert paths(get_best_segments(hours_path, start, end)) == expected  # fills the cache
        assert paths(get_best_segments(hours_path, start, end)) == expected  # from the cache
        if None in expected:
            try:
                get_best_segments(hours_path, start, end, allow_holes=False)
                raise AssertionError("holes not reported")
            except ContainsHoles:
                pass
        else:
            assert paths(get_best_segments(hours_path, start, end, allow_holes=False)) == expected
