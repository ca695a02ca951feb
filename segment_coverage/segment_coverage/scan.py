"""Scanning the archive: which hours to examine, and examining one hour (filesystem I/O).

Holes, overlaps and covered time come from common.segments.get_best_segments (the selection the
restreamer and cutter use); this module only lists files to count them by type.
"""

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

import gevent

from common.segments import (
    SelectionStats, get_best_segments, hour_name, parse_hour, parse_segment_path, read_hour,
)

from .cache import CacheEntry, reusable
from .figures import HOUR, HourCoverage, count_files, empty_range, total, with_selection
from .pixels import NONE, PIXELS_PER_HOUR, hour_pixels

log = logging.getLogger(__name__)

# The newest seconds of the current hour are not judged: their segments are still downloading.
LIVE_MARGIN = timedelta(seconds=30)


def floor_hour(dt):
    return dt.replace(minute=0, second=0, microsecond=0)


def hours_to_examine(archived, now, window_hours):
    """Sorted hours to examine: every archived hour, the last `window_hours` hours up to now that
    are not older than the first archived one, and always the current and previous hours."""
    current = floor_hour(now)
    hours = set(archived)
    hours.update((current, current - HOUR))
    if archived:
        first = min(archived)
        for i in range(window_hours):
            hour = current - i * HOUR
            if hour < first:
                break
            hours.add(hour)
    return sorted(h for h in hours if h <= current)


def list_archived_hours(hours_path):
    """Hours that have a directory under BASE/STREAM/VARIANT (other names are ignored)."""
    try:
        names = os.listdir(hours_path)
    except FileNotFoundError:
        return []
    hours = []
    for name in names:
        try:
            hours.append(parse_hour(name))
        except ValueError:
            if not name.startswith("."):
                log.debug("ignoring %s in %s: not an hour directory", name, hours_path)
    return hours


def _stamp(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino)


def fingerprint(hours_path, hour):
    return (_stamp(os.path.join(hours_path, hour_name(hour))),
            _stamp(os.path.join(hours_path, hour_name(hour - HOUR))))


def list_hour(hour_path):
    """Segments of one hour directory, parsed from their bare names (so their `start` is only
    right within the hour: enough to count types and duplicates), and the number of names that
    do not parse. (None, 0) if the directory does not exist."""
    names = read_hour(hour_path)
    if names is None:
        return None, 0
    segments = []
    bad = 0
    for name in names:
        try:
            segments.append(parse_segment_path(name))
        except ValueError:
            bad += 1
    return segments, bad


def scan_hour(hours_path, hour, end, want_pixels):
    """HourCoverage of `hour` examined over [hour, end)."""
    segments, bad = list_hour(os.path.join(hours_path, hour_name(hour)))
    figures = count_files(segments or (), bad)
    pixels = None
    if end > hour:
        stats = SelectionStats()
        best = get_best_segments(hours_path, hour, end, allow_holes=True, stats=stats)
        figures = with_selection(figures, stats, end - hour)
        if want_pixels:
            pixels = hour_pixels(best, hour, end)
    else:
        figures = empty_range(figures)
        if want_pixels:
            pixels = bytes([NONE]) * PIXELS_PER_HOUR
    return HourCoverage(hour, end, segments is not None, figures, pixels)


@dataclass
class VariantCoverage:
    """Everything one check found for a stream/variant."""
    stream: str
    variant: str
    now: object
    hours: list  # HourCoverage, oldest first
    rescanned: int = 0
    reused: int = 0
    unreadable: list = field(default_factory=list)  # (hour, error text) of hours that failed

    def get(self, hour):
        for coverage in self.hours:
            if coverage.hour == hour:
                return coverage
        return None

    @property
    def current(self):
        return self.get(floor_hour(self.now))

    @property
    def previous(self):
        return self.get(floor_hour(self.now) - HOUR)

    @property
    def totals(self):
        """Sum over every hour that has a directory."""
        return total(c for c in self.hours if c.archived)

    def recent(self, count):
        """The last `count` hours up to now (oldest first)."""
        first = floor_hour(self.now) - (count - 1) * HOUR
        return [c for c in self.hours if c.hour >= first]


class Scanner:
    """Examines stream/variants, reusing the last scan of closed hours whose directories have not
    changed since (see cache.py)."""

    def __init__(self, base_dir, live_margin=LIVE_MARGIN):
        self.base_dir = base_dir
        self.live_margin = live_margin
        self._cache = {}  # (stream, variant) -> {hour: CacheEntry}

    def scan(self, stream, variant, now, window_hours, map_hours):
        """VariantCoverage of BASE/stream/variant at `now` (naive UTC)."""
        hours_path = os.path.join(self.base_dir, stream, variant)
        hours = hours_to_examine(list_archived_hours(hours_path), now, window_hours)
        map_start = floor_hour(now) - (map_hours - 1) * HOUR
        old = self._cache.get((stream, variant), {})
        new = {}
        result = VariantCoverage(stream, variant, now, [])
        for hour in hours:
            entry = self._examine(hours_path, hour, now, hour >= map_start, old.get(hour), result)
            if entry is not None:
                new[hour] = entry
                result.hours.append(entry.coverage)
            gevent.idle()  # let the metrics server answer between hours (idle: sockets are polled)
        self._cache[(stream, variant)] = new  # hours no longer examined are forgotten
        return result

    def forget_others(self, pairs):
        """Drop the cached scans of stream/variants not in `pairs` (their directories went)."""
        for key in set(self._cache) - set(pairs):
            del self._cache[key]

    def _examine(self, hours_path, hour, now, want_pixels, entry, result):
        stamp = fingerprint(hours_path, hour)
        if reusable(entry, stamp, want_pixels):
            result.reused += 1
            return entry
        started = time.time_ns()
        end = min(hour + HOUR, now - self.live_margin)
        try:
            coverage = scan_hour(hours_path, hour, end, want_pixels)
        except OSError as e:
            log.warning("cannot scan %s/%s: %s", hours_path, hour_name(hour), e)
            result.unreadable.append((hour, str(e)))
            return None
        result.rescanned += 1
        return CacheEntry(coverage, stamp, started)
