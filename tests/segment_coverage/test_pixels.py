"""Pixel states of an hour from a get_best_segments result (pure)."""

from datetime import datetime, timedelta

from common.segments import SegmentInfo
from segment_coverage.pixels import (
    FULL, MISSING, NONE, PARTIAL, PIXELS_PER_HOUR, hour_pixels, pixel_index,
)

HOUR = datetime(2026, 3, 1, 12)
S = timedelta(seconds=1)


def seg(offset, duration=2.0, type="full"):
    return SegmentInfo("x", "s", "v", HOUR + timedelta(seconds=offset),
                       timedelta(seconds=duration), type, "h")


def test_holes_and_partials_land_on_their_pixels():
    best = [seg(t) for t in range(0, 100, 2)] + [None] + \
        [seg(104, type="partial"), None, seg(106, type="suspect"), None] + \
        [seg(t) for t in range(108, 3600, 2)]
    states = hour_pixels(best, HOUR, HOUR + timedelta(hours=1))
    assert len(states) == PIXELS_PER_HOUR
    assert states[49] == FULL
    assert states[50] == MISSING and states[51] == MISSING  # 100..104 s missing
    assert states[52] == PARTIAL and states[53] == PARTIAL
    assert states[54:] == bytes([FULL]) * (PIXELS_PER_HOUR - 54)


def test_seams_below_a_tenth_of_a_pixel_do_not_show():
    # 1.999 s segments every 2 s: 1 ms gaps, below the 200 ms that makes a pixel missing
    best = [seg(t, 1.999) for t in range(0, 3600, 2)]
    assert hour_pixels(best, HOUR, HOUR + timedelta(hours=1)) == bytes([FULL]) * PIXELS_PER_HOUR
    # a 0.2 s gap does show
    best = [seg(0, 1.8), seg(2)]
    states = hour_pixels(best, HOUR, HOUR + 4 * S)
    assert states[0] == MISSING and states[1] == FULL


def test_future_pixels_and_a_segment_from_the_previous_hour():
    best = [seg(-1.5), seg(0.5, 2.0)]  # the first starts in the previous hour
    states = hour_pixels(best, HOUR, HOUR + timedelta(seconds=5))
    assert states[0] == FULL  # 0..0.5 from the previous hour's segment, the rest from the next
    assert states[1] == MISSING  # 2.5..4 uncovered
    assert states[2] == MISSING  # 4..5: in range, uncovered
    assert states[3:] == bytes([NONE]) * (PIXELS_PER_HOUR - 3)


def test_empty_and_unstarted_ranges():
    assert hour_pixels([None], HOUR, HOUR + timedelta(hours=1)) == \
        bytes([MISSING]) * PIXELS_PER_HOUR
    assert hour_pixels([], HOUR, HOUR) == bytes([NONE]) * PIXELS_PER_HOUR


def test_pixel_index():
    assert pixel_index(timedelta(seconds=101)) == 50
    assert pixel_index(timedelta(minutes=59, seconds=59)) == PIXELS_PER_HOUR - 1
