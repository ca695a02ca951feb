"""Per-hour facts for live playlists (see live.py): each hour's on-time chain, computed once
per listing of its directory, and the summary of a closed hour, kept in memory and persisted
in a small sidecar file so that a restart does not pay again for a month of closed hours.

Cost: computing an hour lists its directory and stats each file once (its mtime says whether
it arrived on time), so it is linear in the files; it yields to other greenlets first, so a
long count never stalls the server.

Sidecars: BASE/.restreamer/live/STREAM/VARIANT/HOUR.json, one per closed hour, holding its
live.HourSummary and the key of the directory it was computed from (mtime_ns, inode). A
sidecar whose key does not match the directory (a file added, removed or renamed since) is
recomputed and rewritten. They are a cache: deleting BASE/.restreamer only costs a recount;
a torn or foreign file is ignored. Written by rename, without fsync (a crash can only lose one).
"""

import json
import logging
import os
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta

import gevent

from common.segments import MAX_SEGMENT_DURATION, hour_name, hour_segments, read_hour

from . import live

log = logging.getLogger(__name__)

SIDECAR_DIR = os.path.join(".restreamer", "live")
SIDECAR_VERSION = 1
# A directory changed this recently may change again within its mtime's granularity: its
# facts are used but not kept (as common.segments.HourCache does).
SETTLE_SECONDS = 2.0
_EPOCH = datetime(1970, 1, 1)
# Sidecars read between two yields to other requests (each is an open, a read and a parse).
SIDECARS_PER_YIELD = 16


class HourFacts:
    """Per-hour live facts of every variant under base_dir. Bounded: chains by the segments
    they hold (the tails of live playlists need only the newest hours), summaries by count,
    the open hours' arrival answers by count (cleared when full, cheap to relearn)."""

    def __init__(self, base_dir, max_chain_segments=40_000, max_summaries=100_000,
                 max_arrivals=200_000, sidecars=True):
        self.base_dir = os.path.abspath(base_dir)
        self.max_chain_segments = max_chain_segments
        self.max_summaries = max_summaries
        self.max_arrivals = max_arrivals
        self.sidecars = sidecars
        self._chains = OrderedDict()  # hour_path -> (key, chain)
        self._chain_segments = 0
        self._summaries = {}  # hour_path -> (key, HourSummary)
        self._on_time = {}  # path -> mtime of the files of open hours (polled often)
        self.computed = 0  # hours listed and stat'ed (for tests and the benchmark)
        self._sidecar_reads = 0

    # --- chains ---------------------------------------------------------------------------

    def chain(self, hours_path, hour, closed):
        """The on-time chain of one hour (live.on_time_chain). closed: the hour can no longer
        gain an on-time file, so its files' answers need not be remembered one by one."""
        hour_path = os.path.join(hours_path, hour_name(hour))
        key = _key(hour_path)
        if key is None:
            return []
        cached = self._chains.get(hour_path)
        if cached is not None and cached[0] == key:
            self._chains.move_to_end(hour_path)
            return cached[1]
        chain = self._compute(hour_path, hour, known=None if closed else self._on_time)
        if _settled(key):
            self._keep_chain(hour_path, key, chain)
            if closed:
                self._ensure_summary(hour_path, key, chain)
        return chain

    def _compute(self, hour_path, hour, known):
        """One stat per file (none for files `known` already); only files that may have
        arrived on time are parsed, so an hour that was backfilled costs little more than its
        stats."""
        # An hour takes a few ms: let other requests run between hours. idle(), not sleep(0):
        # the loop runs dozens of sleep(0) callbacks in a row before it polls sockets again.
        gevent.idle()
        self.computed += 1
        try:
            names = read_hour(hour_path)
            if names is None:
                return []
            fd = os.open(hour_path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:  # unreadable: as if empty, said once per listing
            log.warning("cannot list %s: %s", hour_path, e)
            return []
        if known is not None and len(known) > self.max_arrivals:
            known.clear()
        # Later than this, a file is late whatever segment of this hour it holds.
        latest = (hour + live.HOUR + MAX_SEGMENT_DURATION + live.SETTLE - _EPOCH).total_seconds()
        arrived = {}  # name -> mtime
        prefix = hour_path + "/"
        try:
            for name in names:
                mtime = known.get(prefix + name) if known is not None else None
                if mtime is None:
                    try:
                        # Relative to the directory: no path walk per file (40% faster).
                        mtime = os.stat(name, dir_fd=fd).st_mtime
                    except OSError:  # gone meanwhile
                        continue
                    if known is not None:
                        known[prefix + name] = mtime
                if mtime <= latest:
                    arrived[name] = mtime
        finally:
            os.close(fd)
        if not arrived:
            return []
        gevent.idle()  # and between the stats and the parsing
        segments = hour_segments(hour_path, list(arrived))
        cut = len(prefix)
        return live.on_time_chain(
            segments, lambda s: _EPOCH + timedelta(seconds=arrived[s.path[cut:]]))

    def _keep_chain(self, hour_path, key, chain):
        old = self._chains.pop(hour_path, None)
        if old is not None:
            self._chain_segments -= len(old[1])
        self._chains[hour_path] = (key, chain)
        self._chain_segments += len(chain)
        while self._chain_segments > self.max_chain_segments and len(self._chains) > 1:
            _, (_, evicted) = self._chains.popitem(last=False)
            self._chain_segments -= len(evicted)

    # --- summaries of closed hours --------------------------------------------------------

    def summary(self, hours_path, hour):
        """live.HourSummary of a closed hour's whole listing: from memory, else its sidecar,
        else computed (and then kept and written)."""
        hour_path = os.path.join(hours_path, hour_name(hour))
        key = _key(hour_path)
        if key is None:
            return live.HourSummary()
        cached = self._summaries.get(hour_path)
        if cached is not None and cached[0] == key:
            return cached[1]
        self._sidecar_reads += 1
        if self._sidecar_reads % SIDECARS_PER_YIELD == 0:
            gevent.idle()  # a restart reads one per closed hour: hundreds in a row
        summary = self._read_sidecar(hour_path, key)
        if summary is not None:
            if _settled(key):
                self._remember(hour_path, key, summary)
            return summary
        chain = self.chain(hours_path, hour, closed=True)
        if not _settled(key):
            return live.summarize(live.listed(chain, _END))
        return self._ensure_summary(hour_path, key, chain)

    def _ensure_summary(self, hour_path, key, chain):
        """The summary of a settled closed hour's chain, kept and written once per key."""
        cached = self._summaries.get(hour_path)
        if cached is not None and cached[0] == key:
            return cached[1]
        summary = live.summarize(live.listed(chain, _END))
        self._remember(hour_path, key, summary)
        self._write_sidecar(hour_path, key, summary)
        return summary

    def _remember(self, hour_path, key, summary):
        if len(self._summaries) >= self.max_summaries:
            self._summaries.clear()
        self._summaries[hour_path] = (key, summary)

    def forget_pruned(self, hours_path, hours):
        """Remove the sidecars of hours no longer on disk (pruned: they would pile up, one
        per hour, for as long as the node runs). `hours`: the hour directories there are."""
        if not self.sidecars:
            return
        directory = os.path.dirname(self.sidecar_path(os.path.join(hours_path, "x")))
        try:
            names = os.listdir(directory)
        except OSError:
            return
        keep = {hour_name(hour) + ".json" for hour in hours}
        for name in names:
            if name.endswith(".json") and name not in keep:
                try:
                    os.remove(os.path.join(directory, name))
                except OSError:
                    pass

    def sidecar_path(self, hour_path):
        rel = os.path.relpath(hour_path, self.base_dir)
        return os.path.join(self.base_dir, SIDECAR_DIR, rel + ".json")

    def _read_sidecar(self, hour_path, key):
        if not self.sidecars:
            return None
        try:
            with open(self.sidecar_path(hour_path), "rb") as f:
                data = json.loads(f.read())
            if data.get("version") != SIDECAR_VERSION or data.get("key") != list(key) \
                    or data.get("settle") != live.SETTLE.total_seconds():
                return None
            return live.HourSummary(
                int(data["count"]), int(data["breaks"]), bool(data["first_break"]),
                _time(data["first_start"]), _time(data["last_end"]), bool(data["last_partial"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing, torn or foreign: recount

    def _write_sidecar(self, hour_path, key, summary):
        if not self.sidecars:
            return
        path = self.sidecar_path(hour_path)
        data = {"version": SIDECAR_VERSION, "key": list(key),
                "settle": live.SETTLE.total_seconds(), "count": summary.count,
                "breaks": summary.breaks, "first_break": summary.first_break,
                "first_start": _text(summary.first_start), "last_end": _text(summary.last_end),
                "last_partial": summary.last_partial}
        temp = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(temp, "w") as f:
                f.write(json.dumps(data))
            os.replace(temp, path)
        except OSError as e:
            # A read-only archive still serves; only restarts cost a recount.
            log.warning("cannot write live summaries under %s (%s): keeping them in memory only",
                        os.path.join(self.base_dir, SIDECAR_DIR), e)
            self.sidecars = False
            try:
                os.remove(temp)
            except OSError:
                pass


_END = datetime.max  # a horizon past every segment: a closed hour's whole listing


def _key(hour_path):
    """What identifies one listing of a directory: (mtime_ns, inode); None if it is gone."""
    try:
        st = os.stat(hour_path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino)


def _settled(key):
    return time.time() - key[0] / 1e9 > SETTLE_SECONDS


def _text(value):
    return None if value is None else value.isoformat()


def _time(text):
    return None if text is None else datetime.fromisoformat(text)
