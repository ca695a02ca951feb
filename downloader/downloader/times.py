"""Segment start times: program date times, continuity and skew (pure logic)."""

from datetime import timedelta, timezone
from typing import NamedTuple

from common import dateutil

# Twitch stamps every segment; a stamp off by more than this from the previous segment's
# end means the origin's clock or durations are wrong and the start times are not trustworthy.
TWITCH_SKEW_LIMIT = timedelta(milliseconds=10)


class UnknownStart(Exception):
    """A segment has no program date time and no previous segment to count from."""


def naive_utc(dt):
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def parse_pdt(value):
    """A program date time (string or datetime) as a naive UTC datetime; ValueError if bad."""
    if hasattr(value, "tzinfo"):
        return naive_utc(value)
    return dateutil.parse(value)


def exact_duration(seconds):
    """EXTINF seconds as a timedelta rounded to the microsecond (exact for ms-precision values)."""
    return timedelta(microseconds=round(float(seconds) * 1_000_000))


class Start(NamedTuple):
    start: object      # datetime
    skew: object       # timedelta or None: stamp minus (previous start + previous duration)


def segment_start(pdt, previous):
    """The start of a segment.

    pdt: its program date time (naive UTC) or None; previous: (start, duration) of the segment
    just before it in the same continuous run, or None. Raises UnknownStart with neither.
    """
    expected = previous[0] + previous[1] if previous is not None else None
    if pdt is not None:
        return Start(pdt, pdt - expected if expected is not None else None)
    if expected is not None:
        return Start(expected, None)
    raise UnknownStart("segment has no EXT-X-PROGRAM-DATE-TIME and no previous segment")


def after_discontinuity(previous_end, estimate, target_duration):
    """Where a run without program date times starts after a discontinuity: the previous run's
    end plus the pause the clock estimate shows, rounded down to whole target durations (never
    negative). Nodes that agreed on the previous run read the playlist at different moments
    within a segment; rounding down makes them agree on the next run too."""
    grid = exact_duration(target_duration or 1)
    pause = estimate - previous_end
    if pause <= timedelta(0):
        return previous_end
    return previous_end + (pause // grid) * grid


def skew_exceeds(skew, limit):
    return limit is not None and skew is not None and abs(skew) > limit
