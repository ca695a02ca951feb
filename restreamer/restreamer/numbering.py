"""Process memory for live playlist numbering (see live.py): memoised Tallies of closed hours
and the variant's hour directories."""

import bisect
import os
import time
from collections import OrderedDict

import gevent.lock

from common.segments import parse_hour


class TallyMemo:
    """Bounded LRU of live.Tally by (hours_path, origin, hour). A player's reloads touch only
    the newest closed hour, so a few thousand entries serve many variants and `start`s;
    an evicted Tally is recounted from the one before it (or, for all, from the origin)."""

    def __init__(self, max_entries=5000):
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._newest = {}  # (hours_path, origin) -> (hour, tally): the newest put
        self._locks = {}

    def lock(self, hours_path, origin):
        """One lock per playlist numbering: while one request counts a cold archive (which
        yields between hours), others for the same playlist wait for its memo instead of
        counting it all again."""
        key = (hours_path, origin)
        lock = self._locks.get(key)
        if lock is None:
            if len(self._locks) >= self.max_entries:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            lock = self._locks[key] = gevent.lock.BoundedSemaphore()
        return lock

    def __len__(self):
        return len(self._entries)

    def view(self, hours_path, origin):
        """An object with .get(hour) and .put(hour, tally) for one live playlist's numbering."""
        return _View(self, (hours_path, origin))

    def get(self, key):
        tally = self._entries.get(key)
        if tally is not None:
            self._entries.move_to_end(key)
        return tally

    def newest(self, prefix):
        return self._newest.get(prefix)

    def put(self, key, tally):
        prefix, hour = key[:-1], key[-1]
        newest = self._newest.get(prefix)
        if newest is None or newest[0] < hour:
            if newest is None and len(self._newest) >= self.max_entries:
                self._newest.clear()
            self._newest[prefix] = (hour, tally)
        self._entries[key] = tally
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class _View:
    __slots__ = ("memo", "prefix")

    def __init__(self, memo, prefix):
        self.memo, self.prefix = memo, prefix

    def get(self, hour):
        return self.memo.get(self.prefix + (hour,))

    def put(self, hour, tally):
        self.memo.put(self.prefix + (hour,), tally)

    def newest(self):
        """(hour, tally) of the newest hour put, even if since evicted or pruned from disk."""
        return self.memo.newest(self.prefix)


class HourList:
    """Sorted hour directory start times of each variant, re-read when the variant directory
    changes (an hour added or pruned changes its mtime)."""

    MAX_VARIANTS = 1000
    # A directory changed this recently may change again within its mtime's granularity.
    SETTLE_SECONDS = 2.0

    def __init__(self, on_change=None):
        self._cache = {}  # hours_path -> (mtime_ns, sorted hours)
        self.on_change = on_change  # (hours_path, sorted hours) after each re-read

    def hours(self, hours_path, first, last):
        """Hours with a directory, from first to last (inclusive)."""
        try:
            mtime = os.stat(hours_path).st_mtime_ns
        except OSError:
            return []
        cached = self._cache.get(hours_path)
        if cached is None or cached[0] != mtime:
            if len(self._cache) >= self.MAX_VARIANTS:
                self._cache.clear()
            cached = (mtime, _read_hours(hours_path))
            if self.on_change is not None:
                self.on_change(hours_path, cached[1])
            if time.time() - mtime / 1e9 > self.SETTLE_SECONDS:
                self._cache[hours_path] = cached
        hours = cached[1]
        return hours[bisect.bisect_left(hours, first):bisect.bisect_right(hours, last)]


def _read_hours(hours_path):
    hours = []
    try:
        names = os.listdir(hours_path)
    except OSError:
        return hours
    for name in names:
        try:
            hours.append(parse_hour(name))
        except ValueError:
            continue
    hours.sort()
    return hours
