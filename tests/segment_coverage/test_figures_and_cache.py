"""Counting files and deciding when a scan can be reused (pure)."""

from datetime import datetime, timedelta

from common.segments import SegmentInfo
from segment_coverage.cache import SETTLE_NS, CacheEntry, reusable
from segment_coverage.figures import Figures, HourCoverage, count_files, total

HOUR = datetime(2026, 3, 1, 12)
S = timedelta(seconds=1)


def seg(offset, type="full", duration=2):
    return SegmentInfo("x", "s", "v", HOUR + offset * S, duration * S, type, "h")


def test_count_files_by_type_and_duplicates():
    figures = count_files([seg(0), seg(0, "partial", 1), seg(0, "full", 3), seg(2, "suspect"),
                           seg(4, "temp"), seg(6, "temp")], unparseable=3)
    assert figures == Figures(full=2, suspect=1, partial=1, temp=2, unparseable=3,
                              full_duration=5 * S, suspect_duration=2 * S,
                              partial_duration=1 * S, duplicates=2)
    # a temp file sharing a start is not a duplicate (it is still being written)
    assert count_files([seg(0), seg(0, "temp")], 0).duplicates == 0


def test_figures_add_up_and_serialise():
    a = Figures(full=1, holes=2, hole_duration=3 * S)
    b = Figures(full=10, overlaps=1, overlap_duration=timedelta(milliseconds=500))
    assert a + b == Figures(full=11, holes=2, hole_duration=3 * S, overlaps=1,
                            overlap_duration=timedelta(milliseconds=500))
    hours = [HourCoverage(HOUR, HOUR, True, a), HourCoverage(HOUR, HOUR, True, b)]
    assert total(hours) == a + b
    assert (a + b).as_json()["overlap_duration"] == 0.5


def _entry(closed=True, pixels=b"x", stamps=((1_000, 7), None), scanned_at=10 * SETTLE_NS):
    end = HOUR + timedelta(hours=1 if closed else 0.5)
    return CacheEntry(HourCoverage(HOUR, end, True, Figures(), pixels), stamps, scanned_at)


def test_reusable_only_when_closed_unchanged_and_settled():
    entry = _entry()
    assert reusable(entry, entry.fingerprint, want_pixels=True)
    assert not reusable(None, entry.fingerprint, True)
    assert not reusable(entry, ((1_001, 7), None), True)  # mtime changed
    assert not reusable(entry, ((1_000, 8), None), True)  # directory replaced
    assert not reusable(entry, ((1_000, 7), (5, 5)), True)  # previous hour appeared
    assert not reusable(_entry(closed=False), entry.fingerprint, True)
    assert not reusable(_entry(pixels=None), entry.fingerprint, True)
    assert reusable(_entry(pixels=None), entry.fingerprint, False)
    # modified shortly before the scan started: not trusted
    recent = _entry(stamps=((9 * SETTLE_NS + 1, 7), None))
    assert not reusable(recent, recent.fingerprint, True)
    recent_previous = _entry(stamps=((1, 7), (9 * SETTLE_NS + 1, 3)))
    assert not reusable(recent_previous, recent_previous.fingerprint, True)
