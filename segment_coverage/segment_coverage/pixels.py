"""The coverage map of one hour as one state per pixel (pure logic).

Each pixel stands for PIXEL (2 s) of the hour. Its state is the worst thing that fills at least a
tenth of it: a pixel with 200 ms or more of missing time is MISSING, otherwise one with 200 ms or
more in a chosen partial/suspect segment is PARTIAL, otherwise FULL. The tenth keeps the
sub-millisecond seams between segments from speckling the map while any real hole shows.
Pixels after the examined range (the future of the current hour) are NONE.
"""

from datetime import timedelta

NONE, FULL, PARTIAL, MISSING = range(4)

PIXEL = timedelta(seconds=2)
HOUR = timedelta(hours=1)
PIXELS_PER_HOUR = HOUR // PIXEL
THRESHOLD = 10  # a state counts when it fills at least 1/THRESHOLD of a pixel

_US = timedelta(microseconds=1)
_PIXEL_US = PIXEL // _US


def _us(delta):
    return delta // _US


def hour_pixels(best, hour, end):
    """States of the pixels of `hour`, as bytes, from a get_best_segments result `best` (a list of
    SegmentInfo and None) over the range [hour, end)."""
    range_us = max(0, min(_us(end - hour), _us(HOUR)))
    full = [0] * PIXELS_PER_HOUR
    partial = [0] * PIXELS_PER_HOUR
    for segment in best or ():
        if segment is None:
            continue
        start = max(0, _us(segment.start - hour))
        stop = min(range_us, _us(segment.start + segment.duration - hour))
        _spread(partial if segment.is_partial else full, start, stop)
    return bytes(
        _state(i, range_us, full[i], partial[i]) for i in range(PIXELS_PER_HOUR)
    )


def _spread(acc, start, stop):
    """Add the microseconds of [start, stop) to the pixels they fall in."""
    i = start // _PIXEL_US
    while start < stop:
        pixel_end = (i + 1) * _PIXEL_US
        acc[i] += min(stop, pixel_end) - start
        start = pixel_end
        i += 1


def _state(i, range_us, full_us, partial_us):
    begin = i * _PIXEL_US
    span = min(range_us, begin + _PIXEL_US) - begin
    if span <= 0:
        return NONE
    missing_us = span - min(span, full_us + partial_us)
    if missing_us * THRESHOLD >= span:
        return MISSING
    if partial_us * THRESHOLD >= span:
        return PARTIAL
    return FULL


def pixel_index(offset):
    """Index of the pixel holding `offset` (a timedelta into the hour)."""
    return offset // PIXEL
