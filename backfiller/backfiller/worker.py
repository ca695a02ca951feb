"""One peer's backfill passes: list its hours and segments, fetch what this node lacks."""

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

import gevent.event
import gevent.pool

from common import renditions
from common.dateutil import utcnow
from common.disk_full import DiskFullLog, is_disk_full
from common.recent import RecentSet
from common.segment_files import HashMismatch
from common.segments import (format_hour_path, format_segment_path, hour_name, parse_hour,
                             read_hour)
from common.service import safe_name

from . import metrics
from .client import PeerError, PeerUnreachable
from .progress import LOG_INTERVAL, CatchUp
from .schedule import RECENT, SWEEP, earliest_wanted, hours_for_pass, pass_kind
from .selection import HAVE, segment_key, select_missing

log = logging.getLogger(__name__)

# Hour listings a pass surveys at once (per peer).
SURVEY_CONCURRENCY = 4
# Per pass and peer, log this many individual failures; the rest only go into the summary.
MAX_LOGGED_FAILURES = 5
# Peer segments remembered as stored under another name (days of them at the rare rate they
# occur; one forgotten is only fetched once more).
SETTLED_MEMORY = 10000
# A peer that stays down is warned about when it goes down, then at most this often (seconds).
UNREACHABLE_LOG_INTERVAL = 600


@dataclass
class Settings:
    base_dir: str
    streams: Optional[list] = None      # None: every stream the peer lists
    variants: Optional[list] = None     # None: every variant the peer lists
    recent_hours: int = 3
    recent_cutoff: timedelta = timedelta(seconds=120)
    start: object = None                # timedelta back, datetime, or None for everything
    delete_older_than: Optional[timedelta] = None
    sweep_interval: timedelta = timedelta(minutes=30)
    concurrency: int = 5
    # A temp file untouched this long has lost its writer (a killed downloader or backfiller).
    temp_min_age: timedelta = timedelta(minutes=5)
    # A pass running longer than this logs its progress this often (seconds).
    progress_interval: float = LOG_INTERVAL


@dataclass
class PassResult:
    peer: str
    kind: str
    fetched: int = 0
    bytes: int = 0
    errors: int = 0          # failed listings and segments (hash mismatches included)
    mismatches: int = 0
    aborted: Optional[str] = None   # why the pass stopped early (peer unreachable)
    newest: Optional[datetime] = None
    newest_age: Optional[float] = None
    logged: int = field(default=0, repr=False)
    progress: Optional[CatchUp] = field(default=None, repr=False)

    @property
    def failed(self):
        return bool(self.errors or self.aborted)

    def summary(self):
        text = f"{self.kind} pass from {self.peer}: "
        if self.aborted:
            text += f"peer unreachable ({self.aborted}); before that "
        text += f"fetched {self.fetched} segments ({self.bytes} bytes), {self.errors} errors"
        if self.mismatches:
            text += f" ({self.mismatches} hash mismatches)"
        return text


class InFlight:
    """Segments being fetched right now, shared by every peer's worker, so that two peers
    holding the same missing segment do not both download it. The second waits for the first
    and fetches only if the first failed (a bad copy from one peer must not stop us taking a
    good copy from another in the same pass)."""

    def __init__(self):
        self._fetching = {}  # (hour path, segment key) -> Event set when that fetch ends

    def claim(self, hour_path, key):
        """Wait until nobody else fetches this segment, then own it until release()."""
        while (hour_path, key) in self._fetching:
            self._fetching[hour_path, key].wait()
        self._fetching[hour_path, key] = gevent.event.Event()

    def release(self, hour_path, key):
        self._fetching.pop((hour_path, key)).set()

    def __len__(self):
        return len(self._fetching)


class PeerWorker:
    """Backfills from one peer. run_pass() is one pass; the daemon calls it on a schedule."""

    def __init__(self, peer, client, settings, in_flight, clock=utcnow):
        self.peer, self.client, self.settings = peer, client, settings
        self.in_flight, self.clock = in_flight, clock
        self.last_sweep = None
        self.newest = None  # start of the newest segment ever fetched from this peer
        self.retry = set()  # (stream, variant, hour) where something failed: checked next pass
        # (hour path, key) of peer segments fetched but stored under another name (an empty
        # "full" file is always stored as suspect): never fetch those again.
        self.settled = RecentSet(SETTLED_MEMORY)
        self.disk_full = DiskFullLog(log)
        self.unreachable_since = None   # when the current run of aborted passes began
        self.unreachable_warned = None  # monotonic time of the last warning about it
        metrics.init_peer(peer.name)

    def run_pass(self, kind=None):
        started = time.monotonic()
        now = self.clock()
        kind = kind or pass_kind(now, self.last_sweep, self.settings.sweep_interval)
        result = PassResult(self.peer.name, kind)
        retry, self.retry = self.retry, set()
        pool = gevent.pool.Pool(self.settings.concurrency)
        earliest = earliest_wanted(now, self.settings.start, self.settings.delete_older_than)
        result.progress = CatchUp(self.peer.name, started, self.settings.progress_interval)
        try:
            # First what is missing, hour by hour (only counts are kept: a long catch-up can
            # miss millions of segments), so that progress can say how much is left...
            # Hours are surveyed a few at once, so that the peer lists one while we compare
            # another (a sweep of a month of hours with nothing to fetch is all listings).
            todo = []
            surveys = gevent.pool.Pool(SURVEY_CONCURRENCY)

            def survey(args):
                stream, variant, hour = args
                self._check_reachable(result)
                return args, self._survey_hour(result, stream, variant, hour, now, earliest)

            try:
                for stream, variant in self._stream_variants(result):
                    self._copy_variant_info(result, stream, variant)
                    hours = [(stream, variant, hour) for hour in
                             self._hours(result, stream, variant, now, kind, earliest, retry)]
                    for (stream, variant, hour), count in surveys.imap(survey, hours):
                        if count:
                            todo.append((stream, variant, hour, count))
                            result.progress.want(count)
            finally:
                surveys.kill()
            metrics.segments_left.labels(self.peer.name).set(result.progress.left)
            # ... then fetch it, listing those hours again.
            for stream, variant, hour, count in todo:
                self._check_reachable(result)
                self._backfill_hour(pool, result, stream, variant, hour, now, earliest, count)
            pool.join()
            self._check_reachable(result)
        except PeerUnreachable as e:
            result.aborted = str(e)
            self.retry |= retry
            metrics.peer_errors.labels(self.peer.name, "unreachable").inc()
        finally:
            # On an abort, or when this worker is killed (shutdown): stop the downloads; each
            # deletes its temp file as it unwinds.
            pool.kill()
        if kind == SWEEP and not result.aborted:
            self.last_sweep = now
        self._record(result, kind, time.monotonic() - started)
        return result

    # --- listing ---

    def _stream_variants(self, result):
        streams = self.settings.streams
        if streams is None:
            streams = self._list(result, [], "streams")
        for stream in streams:
            if not safe_name(stream):
                self._failure(result, "list", f"refusing stream name {stream!r} from the peer")
                continue
            variants = self.settings.variants
            if variants is None:
                variants = self._list(result, [stream], "variants")
            for variant in variants:
                if safe_name(variant):
                    yield stream, variant
                else:
                    self._failure(result, "list", f"refusing variant name {variant!r}")

    def _list(self, result, parts, what):
        try:
            return self.client.list(*parts)
        except PeerUnreachable:
            raise
        except PeerError as e:
            self._failure(result, "list", f"listing {what}: {e}")
            return []

    def _hours(self, result, stream, variant, now, kind, earliest, retry):
        """The peer's hours of stream/variant this pass checks, newest first."""
        peer_hours = []
        for name in self._list(result, [stream, variant], "hours"):
            try:
                peer_hours.append(parse_hour(name))
            except ValueError:
                metrics.segments_skipped.labels("unparseable").inc()
        hours = set(hours_for_pass(peer_hours, kind, now, self.settings.recent_hours, earliest))
        hours |= {hour for s, v, hour in retry if (s, v) == (stream, variant)
                  and hour in peer_hours}
        return sorted(hours, reverse=True)

    def _missing(self, result, stream, variant, hour, now, earliest, count_skips):
        """(hour path, the peer's segments of the hour we should fetch), or None if the
        listing failed."""
        hour_path = format_hour_path(self.settings.base_dir, stream, variant, hour)
        try:
            peer_names = self.client.list(stream, variant, hour_name(hour))
        except PeerUnreachable:
            raise
        except PeerError as e:
            self._failure(result, "list", str(e))
            self.retry.add((stream, variant, hour))
            return None
        local_names = read_hour(hour_path) or []
        wanted, skipped = select_missing(hour_path, local_names, peer_names, now,
                                         self.settings.recent_cutoff, earliest)
        if count_skips:
            for reason, count in skipped.items():
                if reason != HAVE and count:
                    metrics.segments_skipped.labels(reason).inc(count)
        return hour_path, [segment for segment in wanted
                           if (hour_path, segment_key(segment)) not in self.settled]

    def _survey_hour(self, result, stream, variant, hour, now, earliest):
        """How many segments of the hour to fetch."""
        missing = self._missing(result, stream, variant, hour, now, earliest, count_skips=True)
        return len(missing[1]) if missing else 0

    def _backfill_hour(self, pool, result, stream, variant, hour, now, earliest, counted):
        missing = self._missing(result, stream, variant, hour, now, earliest, count_skips=False)
        if missing is None:
            result.progress.want(-counted)
            return
        hour_path, wanted = missing
        result.progress.want(len(wanted) - counted)  # it may have changed since the survey
        for segment in wanted:
            self._check_reachable(result)
            pool.spawn(self._fetch, result, stream, variant, hour, hour_path, segment)

    # --- fetching ---

    def _copy_variant_info(self, result, stream, variant):
        """Take the peer's variant.json if it is newer than ours (common.renditions.adopt_info):
        without it a node that only backfills would serve and cut separate audio as a plain
        variant, and the video without sound."""
        path = os.path.join(self.settings.base_dir, stream, variant)
        try:
            found = self.client.fetch_info(stream, variant, renditions.info_modified(path))
        except PeerUnreachable:
            raise
        except PeerError as e:
            self._failure(result, "info", str(e))
            return
        if found is None:
            return
        try:
            if renditions.adopt_info(path, *found):
                metrics.variant_infos_copied.labels(self.peer.name).inc()
                log.info("%s/%s: took %s from %s: %s", stream, variant, renditions.INFO_FILE,
                         self.peer.name, json.dumps(found[0], sort_keys=True))
        except OSError as e:
            result.errors += 1
            log.error("cannot write %s from %s into %s: %s", renditions.INFO_FILE,
                      self.peer.name, path, e)

    def _fetch(self, result, stream, variant, hour, hour_path, segment):
        key = segment_key(segment)
        self.in_flight.claim(hour_path, key)
        try:
            final = format_segment_path(self.settings.base_dir, stream, variant, segment.start,
                                        segment.duration, segment.type, segment.hash)
            if os.path.exists(final):
                result.progress.dropped()
                return  # arrived meanwhile (from the local downloader or another peer)
            path, size = self.client.fetch(self.settings.base_dir, stream, variant,
                                           hour_name(hour), os.path.basename(segment.path),
                                           segment)
        except HashMismatch as e:
            result.progress.dropped()
            result.mismatches += 1
            metrics.hash_mismatches.labels(self.peer.name).inc()
            self._failure(result, "fetch", f"rejected: {e}", count_metric=False)
            self.retry.add((stream, variant, hour))
        except PeerUnreachable as e:
            result.aborted = result.aborted or str(e)
            self.retry.add((stream, variant, hour))
        except PeerError as e:
            result.progress.dropped()
            self._failure(result, "fetch", str(e))
            self.retry.add((stream, variant, hour))
        except OSError as e:
            # Our own disk, not the peer: still retried, and loud, since it will affect everything
            # (a full disk once a minute: every segment of a pass would meet it).
            result.progress.dropped()
            result.errors += 1
            if is_disk_full(e):
                self.disk_full.failed(f"segments from {self.peer.name} into "
                                      f"{self.settings.base_dir}", e)
            else:
                log.error("cannot write segment from %s into %s: %s", self.peer.name,
                          hour_path, e)
            self.retry.add((stream, variant, hour))
        else:
            self.disk_full.succeeded(f"segments from {self.peer.name}")
            arrived = self.clock()
            result.fetched += 1
            result.bytes += size
            result.progress.got(size)
            metrics.segments_backfilled.labels(self.peer.name).inc()
            metrics.bytes_backfilled.labels(self.peer.name).inc(size)
            if result.newest is None or segment.start > result.newest:
                result.newest = segment.start
                result.newest_age = (arrived - segment.start).total_seconds()
            if path != final:
                self.settled.add((hour_path, key))
            log.debug("backfilled %s from %s", path, self.peer.name)
        finally:
            self.in_flight.release(hour_path, key)
            self._report_progress(result)

    def _check_reachable(self, result):
        """A fetch found the peer unreachable: stop this pass (PeerUnreachable)."""
        if result.aborted:
            raise PeerUnreachable(result.aborted)

    # --- reporting ---

    def _report_progress(self, result):
        metrics.segments_left.labels(self.peer.name).set(result.progress.left)
        now = time.monotonic()
        if result.progress.due(now):
            log.info("%s", result.progress.line(now))

    def _failure(self, result, kind, message, count_metric=True):
        result.errors += 1
        if count_metric:
            metrics.peer_errors.labels(self.peer.name, kind).inc()
        if result.logged < MAX_LOGGED_FAILURES:
            log.warning("peer %s: %s", self.peer.name, message)
        elif result.logged == MAX_LOGGED_FAILURES:
            log.warning("peer %s: more failures this pass; see the pass summary", self.peer.name)
        result.logged += 1

    def _record(self, result, kind, seconds):
        outcome = "aborted" if result.aborted else ("errors" if result.errors else "ok")
        metrics.peer_reachable.labels(self.peer.name).set(0 if result.aborted else 1)
        metrics.segments_left.labels(self.peer.name).set(result.progress.left)
        metrics.passes.labels(self.peer.name, kind, outcome).inc()
        metrics.pass_duration.labels(self.peer.name, kind).observe(seconds)
        if result.newest is not None:
            metrics.newest_segment_age.labels(self.peer.name).set(result.newest_age)
            if self.newest is None or result.newest > self.newest:
                self.newest = result.newest
                metrics.newest_segment_fetched.labels(self.peer.name).set(
                    (result.newest - datetime(1970, 1, 1)).total_seconds())
        level = logging.WARNING if result.failed else logging.INFO
        if result.aborted and not self._unreachable_warning_due():
            level = logging.DEBUG  # still down: one warning per UNREACHABLE_LOG_INTERVAL
        elif not result.aborted and self.unreachable_since is not None:
            log.info("peer %s is reachable again (unreachable since %s)", self.peer.name,
                     self.unreachable_since.isoformat(timespec="seconds"))
            self.unreachable_since = self.unreachable_warned = None
        if result.failed or result.fetched or kind == SWEEP:
            log.log(level, "%s in %.1fs", result.summary(), seconds)

    def _unreachable_warning_due(self):
        now = time.monotonic()
        if self.unreachable_since is None:
            self.unreachable_since = self.clock()
        if self.unreachable_warned is None or now - self.unreachable_warned >= \
                UNREACHABLE_LOG_INTERVAL:
            self.unreachable_warned = now
            return True
        return False


__all__ = ["PeerWorker", "Settings", "PassResult", "InFlight", "RECENT", "SWEEP"]
