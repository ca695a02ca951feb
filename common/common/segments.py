"""The segment archive: file names, and choosing the best run of segments for a time range.

Layout (docs/design.md): BASE/STREAM/VARIANT/HOUR/MM:SS.ffffff-DURATION-TYPE-HASH.ts

get_best_segments() is the hot path of the restreamer and the cutter. It stays fast on long
ranges by caching, per hour directory, the parsed best-per-start list and the run of segments
that hour gives on its own ("chain"); a whole hour inside the range is then one list extend.
A cache entry is keyed on the directory's mtime and inode, so adding, renaming or removing a file
invalidates it; directories modified in the last few seconds are not cached at all, because
mtime granularity could hide a change made in the same clock tick as our listing.
"""

import base64
import bisect
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple, Optional

import gevent
import prometheus_client as prom

from .stats import timed

log = logging.getLogger(__name__)

TYPES = ("full", "partial", "suspect", "temp")
# Consecutive segments whose boundaries differ by at most this much are contiguous:
# nodes' timestamps drift by a few milliseconds.
TOLERANCE = timedelta(milliseconds=10)
# Longest segment we expect; bounds how far before a range we look for one covering its start.
MAX_SEGMENT_DURATION = timedelta(seconds=60)
HOUR = timedelta(hours=1)

_HASH_RE = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")

overlap_counter = prom.Counter(
    "segment_overlaps",
    "Segments skipped by get_best_segments because they overlap the previous one by more than "
    "the tolerance (counted once per hour listing, not per request)",
)
unparseable_counter = prom.Counter(
    "segment_unparseable_files", "Files in hour directories whose names do not parse (per listing)")


class ContainsHoles(Exception):
    """The range has a discontinuity and holes were not allowed."""


class SegmentInfo(NamedTuple):
    path: str
    stream: Optional[str]
    variant: Optional[str]
    start: datetime
    duration: timedelta
    type: str
    hash: Optional[str]

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    @property
    def is_partial(self) -> bool:
        """Anything but full: it may be cut short and may not join the next segment cleanly."""
        return self.type != "full"


class SelectionStats:
    """What a get_best_segments call found; segment_coverage reports it."""

    __slots__ = ("holes", "hole_duration", "overlaps", "overlap_duration", "covered", "partials")

    def __init__(self):
        self.holes = 0
        self.hole_duration = timedelta(0)
        self.overlaps = 0
        self.overlap_duration = timedelta(0)
        self.covered = timedelta(0)
        self.partials = 0

    def add(self, other: "SelectionStats") -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __repr__(self):
        return "SelectionStats({})".format(
            ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__))


# --- names ---------------------------------------------------------------------------------

def hour_name(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H")


def parse_hour(name: str) -> datetime:
    """Parse HOUR (%Y-%m-%dT%H) by slicing; ValueError if it is anything else."""
    if len(name) != 13 or name[4] != "-" or name[7] != "-" or name[10] != "T":
        raise ValueError(f"not an hour directory name (want YYYY-MM-DDTHH): {name!r}")
    try:
        return datetime(int(name[0:4]), int(name[5:7]), int(name[8:10]), int(name[11:13]))
    except ValueError as e:
        raise ValueError(f"not an hour directory name: {name!r}: {e}") from None


def _parse_decimal_seconds(text):
    """'2.000', '2.0', '2', '1.996' -> timedelta, exactly (no floats)."""
    whole, dot, frac = text.partition(".")
    if not whole.isdigit() or (dot and not frac.isdigit()) or len(frac) > 6:
        raise ValueError(f"bad duration {text!r}")
    return timedelta(seconds=int(whole), microseconds=int(frac.ljust(6, "0")) if frac else 0)


def format_duration(duration: timedelta) -> str:
    """Seconds with millisecond precision, as the contract writes them."""
    micros = duration // timedelta(microseconds=1)
    return f"{micros // 1000000}.{(micros % 1000000) // 1000:03d}"


def segment_file_name(start: datetime, duration: timedelta, type: str, hash: str) -> str:
    return f"{start_prefix(start)}{format_duration(duration)}-{type}-{hash}.ts"


def format_segment_path(base_dir: str, stream: str, variant: str, start: datetime,
                        duration: timedelta, type: str, hash: str) -> str:
    return os.path.join(format_hour_path(base_dir, stream, variant, start),
                        segment_file_name(start, duration, type, hash))


def hash_name(digest: bytes) -> str:
    """Unpadded url-safe base64 of a SHA-256 digest (the HASH field)."""
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _parse_name(name):
    """File name -> (offset within the hour, duration, type, hash). Slicing, no strptime."""
    if not name.endswith(".ts"):
        raise ValueError("does not end in .ts")
    parts = _fields(name)
    if parts is None:
        raise ValueError("want MM:SS.ffffff-DURATION-TYPE-HASH.ts")
    offset, duration, type, hash = parts
    if len(offset) < 5 or offset[2] != ":" or (len(offset) > 5 and offset[5] != "."):
        raise ValueError(f"bad start offset {offset!r}")
    minutes, seconds, frac = offset[0:2], offset[3:5], offset[6:]
    if not (minutes.isdigit() and seconds.isdigit() and (frac.isdigit() or len(offset) == 5)) \
            or len(frac) > 6 or int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(f"bad start offset {offset!r}")
    micros = int(frac.ljust(6, "0")) if frac else 0
    offset = timedelta(minutes=int(minutes), seconds=int(seconds), microseconds=micros)
    duration = _parse_decimal_seconds(duration)
    if not duration:
        raise ValueError("zero duration")
    if type not in TYPES:
        raise ValueError(f"unknown type {type!r}")
    if type == "temp":
        if not hash:
            raise ValueError("empty temp id")
    elif not _HASH_RE.fullmatch(hash):
        raise ValueError("hash is not unpadded url-safe base64 of a SHA-256")
    return offset, duration, type, hash


def parse_segment_path(path: str) -> SegmentInfo:
    """Parse BASE/STREAM/VARIANT/HOUR/FILE, or a bare FILE (stream, variant None; start counted
    from 1970-01-01T00:00, i.e. only the offset within its hour is known).
    Raises ValueError naming the path and why."""
    try:
        parts = path.rsplit("/", 4)
        offset, duration, type, hash = _parse_name(parts[-1])
        if len(parts) >= 4:
            stream, variant, hour = parts[-4], parts[-3], parse_hour(parts[-2])
        elif len(parts) == 1:
            stream = variant = None
            hour = datetime(1970, 1, 1)
        else:
            raise ValueError("want BASE/STREAM/VARIANT/HOUR/FILE or a bare file name")
    except ValueError as e:
        raise ValueError(f"bad segment path {path!r}: {e}") from None
    return SegmentInfo(path, stream, variant, hour + offset, duration, type, hash)


# --- hour directories, and quick looks at names ----------------------------------------------
# For code outside this module that lists an hour directory or filters its names without
# parsing each one: every such read and check goes through these, so the name format has one
# owner. (Full parsing and validation: parse_segment_path.)

def format_hour_path(base_dir: str, stream: str, variant: str, start: datetime) -> str:
    """BASE/STREAM/VARIANT/HOUR: the directory of a segment starting at `start`."""
    return os.path.join(base_dir, stream, variant, hour_name(start))


def read_hour(hour_path: str) -> list[str] | None:
    """The names in one hour directory, unsorted and unfiltered (junk and temp files included);
    None if there is no such directory. Every read of an hour directory goes through here.
    Other OSErrors (permissions, I/O) propagate."""
    try:
        return os.listdir(hour_path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def start_prefix(start: datetime) -> str:
    """'MM:SS.ffffff-': how the name of every segment we write for `start` begins, whatever
    its duration, type and hash."""
    return f"{start.minute:02d}:{start.second:02d}.{start.microsecond:06d}-"


def names_starting_at(names: Iterable[str], start: datetime) -> list[str]:
    """Those of `names` (one hour's listing) naming a segment that starts at `start`, of any
    type. Matches the canonical form segment_file_name writes (all this suite writes)."""
    prefix = start_prefix(start)
    return [name for name in names if name.startswith(prefix)]


def _fields(name):
    """The four text fields OFFSET, DURATION, TYPE, HASH of a name ending in .ts, unchecked;
    None for anything else."""
    if not name.endswith(".ts"):
        return None
    parts = name[:-3].split("-", 3)
    return parts if len(parts) == 4 else None


def name_type(name: str) -> str | None:
    """The TYPE field of a segment file name, read without validating the rest (None if the
    name does not have the four fields). The HASH may itself contain '-', so a substring test
    such as `"-full-" in name` can be fooled where this cannot."""
    fields = _fields(name)
    return fields[2] if fields else None


def name_hash(name: str) -> str | None:
    """The HASH field of a segment file name (a temp file's random id), unvalidated."""
    fields = _fields(name)
    return fields[3] if fields else None


def is_temp(name: str) -> bool:
    """Whether the name is a temp file's (being written, never listed, served or chosen).
    Cheap enough for every name of a listing: most names fail the substring test at once."""
    return "-temp-" in name and name_type(name) == "temp"


# The canonical form of a name, validated and split by one regex on the hot path; anything else
# falls back to _parse_name, which accepts the other forms and says what is wrong.
_FAST_RE = re.compile(r"([0-5]\d):([0-5]\d)\.(\d{6})-([0-9.]+)-(full|partial|suspect)-"
                      r"([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])\.ts")
_durations = {}
_new_segment = tuple.__new__


def _duration(text):
    """Duration text -> timedelta, memoised: an archive uses only a handful of durations."""
    duration = _durations.get(text)
    if duration is None:
        duration = _parse_decimal_seconds(text)
        if not duration:
            raise ValueError("zero duration")
        if len(_durations) < 10000:
            _durations[text] = duration
    return duration


def _parse_hour_listing(hour_path, hour, stream, variant, names):
    """Parse the segment names of one hour directory, skipping (and counting) junk.
    Returns (segments, ordered): ordered means the list is sorted by start, which holds when
    every name has the canonical fixed-width form (sorted names are then sorted starts)."""
    names.sort()
    segments = []
    bad = 0
    ordered = True
    prefix = hour_path + "/"
    fast = _FAST_RE.fullmatch
    append = segments.append
    y, mo, d, h = hour.year, hour.month, hour.day, hour.hour
    for name in names:
        m = fast(name)
        try:
            if m is not None:
                minutes, seconds, micros, duration, type, hash = m.groups()
                start = datetime(y, mo, d, h, int(minutes), int(seconds), int(micros))
                duration = _duration(duration)
            else:
                offset, duration, type, hash = _parse_name(name)
                if type == "temp":
                    continue
                start = hour + offset
                ordered = False
        except ValueError:
            bad += 1
            continue
        append(_new_segment(SegmentInfo, (prefix + name, stream, variant, start, duration, type,
                                          hash)))
    if bad:
        unparseable_counter.inc(bad)
        _rate_limited_warning("unparseable", "ignoring %d unparseable file(s) in %s", bad, hour_path)
    return segments, ordered


_last_warning = {}


def _rate_limited_warning(key, message, *args, interval=60):
    """Overlaps and junk cluster around stream restarts: warn at most once a minute per kind."""
    now = time.monotonic()
    if now - _last_warning.get(key, -interval) >= interval:
        _last_warning[key] = now
        log.warning(message, *args)


# --- choosing the best segment per start time ------------------------------------------------

def _rank(segment):
    """Sort key among segments with one start: higher is better (size compared separately)."""
    return (segment.type == "full", segment.type == "suspect",
            segment.duration if segment.type == "full" else timedelta(0))


def _file_size(segment):
    try:
        return os.stat(segment.path).st_size
    except OSError:
        return -1


def _pick(candidates):
    """Best of several segments with the same start (docs/design.md, 'Choosing the best')."""
    best_rank = max(_rank(s) for s in candidates)
    top = [s for s in candidates if _rank(s) == best_rank]
    if len(top) == 1:
        return top[0]
    # Truncated copies report the same metadata: the largest is likely the least corrupt.
    return max(top, key=lambda s: (_file_size(s), s.hash))


def choose_best_per_start(segments: Iterable[SegmentInfo],
                          ordered: bool = False) -> list[SegmentInfo]:
    """Segments -> best segment per start time, sorted by start. Temp is ignored.
    ordered: the input is already sorted by start (saves a sort on the hot path)."""
    if not ordered:
        segments = sorted(segments, key=_start_key)
    best = []
    group = []
    for segment in segments:
        if segment.type == "temp":
            continue
        if group and segment.start != group[0].start:
            best.append(group[0] if len(group) == 1 else _pick(group))
            group = []
        group.append(segment)
    if group:
        best.append(group[0] if len(group) == 1 else _pick(group))
    return best


def _start_key(segment):
    return segment.start


# --- walking a run -----------------------------------------------------------------------------

class _Walk:
    """The greedy walk over best-per-start segments: one instance per get_best_segments call."""

    __slots__ = ("start", "end", "allow_holes", "out", "prev", "stats")

    def __init__(self, start, end, allow_holes, stats):
        self.start, self.end, self.allow_holes = start, end, allow_holes
        self.out, self.prev, self.stats = [], None, stats

    def hole(self, missing):
        if not self.allow_holes:
            raise ContainsHoles()
        self.out.append(None)
        if missing > timedelta(0):
            self.stats.holes += 1
            self.stats.hole_duration += missing

    def feed(self, segment):
        """Consider one segment; returns False once segments start at or after the end."""
        if segment.start >= self.end:
            return False
        if segment.end <= self.start:
            return True
        prev = self.prev
        if prev is None:
            if segment.start > self.start + TOLERANCE:
                self.hole(segment.start - self.start)
        else:
            kind = follows(prev.end, prev.is_partial, segment.start)
            if kind is OVERLAP:
                self.stats.overlaps += 1
                self.stats.overlap_duration += min(prev.end, segment.end) - segment.start
                return True
            if kind is HOLE:
                self.hole(segment.start - prev.end)
            elif kind is BREAK:
                self.hole(timedelta(0))
        self.take(segment)
        return True

    def take(self, segment):
        self.out.append(segment)
        self.prev = segment
        self.stats.covered += min(segment.end, self.end) - max(segment.start, self.start)
        if segment.is_partial:
            self.stats.partials += 1

    def finish(self):
        prev = self.prev
        if prev is None:
            self.hole(self.end - self.start)
        elif prev.end < self.end - TOLERANCE:
            self.hole(self.end - prev.end)
        return self.out


# How a segment follows the one before it (follows()).
JOINS, BREAK, HOLE, OVERLAP = "joins", "break", "hole", "overlap"


def follows(prev_end: datetime, prev_partial: bool, start: datetime) -> str:
    """The joining rule, its one owner: how a segment starting at `start` follows one that
    ended at prev_end. OVERLAP: it starts more than TOLERANCE before that end (it is skipped);
    HOLE: more than TOLERANCE after; BREAK: within TOLERANCE but the previous segment is
    partial or suspect (a discontinuity without a gap); JOINS otherwise."""
    gap = start - prev_end
    if gap < -TOLERANCE:
        return OVERLAP
    if gap > TOLERANCE:
        return HOLE
    return BREAK if prev_partial else JOINS


def chain_of(best: Iterable[SegmentInfo]) -> tuple[list[SegmentInfo | None], SelectionStats]:
    """Best-per-start segments (sorted) -> (the run they give on their own, SelectionStats),
    by follows(), from the first segment to the last: None at each hole and break,
    overlapping segments skipped and counted (as get_best_segments walks a range)."""
    stats = SelectionStats()
    chain = []
    append = chain.append
    prev_end = prev_partial = None
    for segment in best:
        start, duration = segment.start, segment.duration
        if prev_end is not None:
            kind = follows(prev_end, prev_partial, start)
            if kind is OVERLAP:
                stats.overlaps += 1
                stats.overlap_duration += min(prev_end, start + duration) - start
                continue
            if kind is HOLE:
                append(None)
                stats.holes += 1
                stats.hole_duration += start - prev_end
            elif kind is BREAK:
                append(None)
        append(segment)
        stats.covered += duration
        prev_end = start + duration
        prev_partial = segment.type != "full"
        if prev_partial:
            stats.partials += 1
    return chain, stats


class _HourEntry:
    """Cached facts about one hour directory."""

    __slots__ = ("key", "best", "starts", "chain", "chain_stats", "has_break", "size")

    def __init__(self, key, best):
        self.key = key
        self.best = best
        self.starts = [s.start for s in best]
        self.size = len(best)
        self.chain = None  # built on first use as a middle hour

    def build_chain(self):
        """The run this hour gives on its own, from its first segment to its last (chain_of),
        built once: this runs for every middle hour."""
        if self.chain is not None:
            return self.chain
        chain, stats = chain_of(self.best)
        if stats.overlaps:
            overlap_counter.inc(stats.overlaps)
            _rate_limited_warning("overlap", "skipped %d overlapping segment(s) in %s",
                                  stats.overlaps, os.path.dirname(self.best[0].path))
        self.chain, self.chain_stats = chain, stats
        self.has_break = None in chain
        return chain


class HourCache:
    """Bounded LRU of parsed hour directories, limited by the number of segments held."""

    # Directories changed this recently are never cached (see module docstring).
    SETTLE_SECONDS = 2.0

    def __init__(self, max_segments: int = 100_000) -> None:
        self.max_segments = max_segments
        self._entries = OrderedDict()
        self._size = 0

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0

    def get(self, hour_path: str, stream: str | None,
            variant: str | None) -> tuple["_HourEntry", bool]:
        """-> _HourEntry for the directory (empty if missing), and whether it was cached."""
        try:
            st = os.stat(hour_path)
        except FileNotFoundError:
            return _EMPTY, True
        key = (st.st_mtime_ns, st.st_ino)
        entry = self._entries.get(hour_path)
        if entry is not None and entry.key == key:
            self._entries.move_to_end(hour_path)
            return entry, True
        # Parsing an hour takes a few ms: let the loop poll sockets first (after sleep(0) alone
        # it runs dozens of such callbacks in a row before polling them).
        gevent.idle()
        names = read_hour(hour_path)
        if names is None:
            return _EMPTY, True
        hour = parse_hour(os.path.basename(hour_path))
        best = choose_best_per_start(*_parse_hour_listing(hour_path, hour, stream, variant, names))
        entry = _HourEntry(key, best)
        if time.time() - st.st_mtime_ns / 1e9 > self.SETTLE_SECONDS:
            self._store(hour_path, entry)
        return entry, False

    def _store(self, hour_path, entry):
        old = self._entries.pop(hour_path, None)
        if old is not None:
            self._size -= old.size
        self._entries[hour_path] = entry
        self._size += entry.size
        while self._size > self.max_segments and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            self._size -= evicted.size


_EMPTY = _HourEntry(None, [])
_cache = HourCache()


def hour_paths_for_range(hours_path: str, start: datetime, end: datetime) -> list[str]:
    """Paths of the hour directories that may hold segments starting in [start, end)."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    paths = []
    while hour < end:
        paths.append(os.path.join(hours_path, hour_name(hour)))
        hour += HOUR
    return paths


# Time per item returned (segments and the Nones between them): len() is free, a count of
# the segments alone would cost a pass over a week-long answer.
@timed("get_best_segments", normalize=lambda ret, *args, **kwargs: len(ret), unit="item returned")
def get_best_segments(hours_path: str, start: datetime, end: datetime, allow_holes: bool = True,
                      stats: SelectionStats | None = None) -> list[SegmentInfo | None]:
    """The best non-overlapping run of segments for [start, end) in BASE/STREAM/VARIANT.

    Returns SegmentInfo objects, with None at each discontinuity: a gap, an uncovered start or
    end, and after every partial/suspect segment that another one follows. A segment that
    overlaps the previous one by more than TOLERANCE is skipped (counted, warned at a bounded
    rate); it leaves a None only where skipping it leaves a gap, since overlaps from several
    nodes' downloads are normal and the previous segment already covers that time.
    With allow_holes=False, raises ContainsHoles at the first discontinuity.
    Pass a SelectionStats as stats to learn the holes, overlaps and coverage of the range.
    """
    if end <= start:
        raise ValueError(f"end {end} is not after start {start}")
    stats = SelectionStats() if stats is None else stats
    hours_path = hours_path.rstrip("/")
    stream_path, variant = os.path.split(hours_path)
    stream = os.path.basename(stream_path)
    walk = _Walk(start, end, allow_holes, stats)
    paths = hour_paths_for_range(hours_path, start, end)
    # The earliest segment covering the start wins, even if it began in the previous hour.
    for segment in _lookback(hours_path, stream, variant, start):
        walk.feed(segment)
    last = len(paths) - 1
    for i, path in enumerate(paths):
        entry, _ = _cache.get(path, stream, variant)
        if 0 < i < last and entry.best:
            _extend_whole_hour(walk, entry)
            continue
        best = entry.best
        if i == 0:
            # Skip what ends before the range without a Python-level loop over it.
            best = best[max(0, bisect.bisect_left(entry.starts, start - MAX_SEGMENT_DURATION)):]
        for segment in best:
            if not walk.feed(segment):
                break
    return walk.finish()


def _lookback(hours_path, stream, variant, start):
    """Segments of the previous hour that may cover the range's start."""
    hour_start = start.replace(minute=0, second=0, microsecond=0)
    if start - hour_start >= MAX_SEGMENT_DURATION:
        return []
    previous = os.path.join(hours_path, hour_name(hour_start - HOUR))
    entry, _ = _cache.get(previous, stream, variant)
    return [s for s in entry.best[bisect.bisect_left(entry.starts, start - MAX_SEGMENT_DURATION):]
            if s.end > start]


def _extend_whole_hour(walk, entry):
    """Append a whole hour inside the range from its cached chain: one list extend."""
    chain = entry.build_chain()
    first = chain[0]
    prev = walk.prev
    if prev is not None and first.start - prev.end < -TOLERANCE:
        # The previous hour's last segment overlaps into this one: walk it segment by segment.
        for segment in entry.best:
            walk.feed(segment)
        return
    walk.feed(first)  # the junction with the previous hour, with its hole checks
    if not walk.allow_holes and entry.has_break:
        raise ContainsHoles()
    walk.out.extend(chain[1:])
    walk.prev = chain[-1]
    s = walk.stats
    cs = entry.chain_stats
    s.holes += cs.holes
    s.hole_duration += cs.hole_duration
    s.overlaps += cs.overlaps
    s.overlap_duration += cs.overlap_duration
    # chain_stats.covered and .partials already count the first segment, which feed() counted.
    s.covered += cs.covered - first.duration
    s.partials += cs.partials - first.is_partial


# --- one hour's files, for callers that choose among them by a rule of their own --------------

def hour_segments(hour_path: str, names: Iterable[str] | None = None) -> list[SegmentInfo]:
    """Every final segment file of one hour directory (junk skipped and counted), sorted by
    start; [] if it is missing. names: only these (the caller listed the directory already).
    Uncached: the restreamer's live listing filters files by when they arrived before choosing
    the best (choose_best_per_start, chain_of)."""
    hour_path = hour_path.rstrip("/")
    variant_path, hour = os.path.split(hour_path)
    stream_path, variant = os.path.split(variant_path)
    if names is None:
        names = read_hour(hour_path)
        if names is None:
            return []
    segments, ordered = _parse_hour_listing(hour_path, parse_hour(hour),
                                            os.path.basename(stream_path), variant, list(names))
    if not ordered:
        segments.sort(key=_start_key)
    return segments


def is_final_segment_name(name: str) -> bool:
    """Whether a file name is a final (not temp) segment's, as listings and the segment route
    show them: the canonical form by one regex, any other accepted form by the full parser."""
    try:
        m = _FAST_RE.fullmatch(name)
        if m is not None:
            return bool(_duration(m.group(4)))  # (memoised; a zero duration raises)
        return _parse_name(name)[2] != "temp"
    except ValueError:
        return False


def start_text(hour_and_name: str) -> str | None:
    """'HOUR/NAME' (a segment's path below its variant directory) -> its start as ISO 8601 to
    the millisecond ('YYYY-MM-DDTHH:MM:SS.fff'), sliced from the names when NAME has the
    canonical form segment_file_name writes (10x faster than formatting a datetime, for
    playlists of days); None for any other form."""
    if hour_and_name[13:14] == "/" and hour_and_name[19:20] == "." \
            and hour_and_name[26:27] == "-":
        return f"{hour_and_name[:13]}:{hour_and_name[14:23]}"
    return None
