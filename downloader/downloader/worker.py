"""A worker follows one variant's media playlist and hands each new segment to its manager."""

import itertools
import logging
import time

import gevent
import gevent.event
import requests

from common.dateutil import utcnow

from . import metrics, problems
from .download import SegmentJob, error_kind
from .playlist import new_entries, parse_media_playlist
from .timeline import clock_estimates
from .times import UnknownStart, after_discontinuity, segment_start, skew_exceeds

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class PlaylistGone(Exception):
    """403/404 on the media playlist URL: it has expired or the stream moved."""


# Retries of a failing media playlist back off to this at most (about what a player does): once
# an outage of the origin ends, the segments it listed during the outage stay listed only for
# what is left of a playlist's window (Twitch: about 12 s), possibly a second or two.
MAX_ERROR_DELAY = 1


def error_delays():
    """Waits between retries of a failing media playlist: 0.5, then MAX_ERROR_DELAY."""
    delay = 0.5
    while True:
        yield delay
        delay = min(delay * 2, MAX_ERROR_DELAY)


def poll_delays(target_duration, newest_duration):
    """(wait after a poll that found new segments, wait after one that found none).

    Polling once per segment duration keeps the load low, and polling again every fraction of a
    target duration while the next segment is late keeps the playlist-to-file delay well under a
    second; together that is about one or two playlist fetches per segment."""
    target = float(target_duration or 2)
    retry = min(0.5, max(0.1, target / 8))
    after_new = float(newest_duration.total_seconds()) if newest_duration else target
    return max(retry, after_new - retry), retry


class Worker:
    def __init__(self, manager, variant, url, skew_limit=None, playlist_timeout=(5, 10)):
        self.id = next(_ids)
        self.manager = manager
        self.variant = variant
        self.url = url
        self.skew_limit = skew_limit
        self.playlist_timeout = playlist_timeout
        self.known = {}          # entry.id (URI, byte range) -> (start, duration)
        self.tail = None          # (media sequence number, start, duration) of the newest entry
        self.stopping = gevent.event.Event()
        self.saw_content = False  # seen a non-ad segment (the manager then retires older workers)
        self.untrusted = False    # start times proved skewed: store the rest as suspect
        self.trouble = None       # reason reported to the manager, if any
        self.ended = False
        self.greenlet = None
        self.started_at = time.monotonic()

    def __repr__(self):
        return f"<Worker {self.id} {self.manager.stream}/{self.variant}>"

    def start(self):
        self.greenlet = gevent.spawn(self.run)
        return self.greenlet

    def stop(self):
        self.stopping.set()

    def report_trouble(self, reason):
        """Ask the manager for a replacement (once); keep polling until retired."""
        if self.trouble is None:
            self.trouble = reason
            log.warning("%r: %s; asking for a new worker", self, reason)
            self.manager.trigger_new_worker(self)

    def run(self):
        metrics.init_variant(self.manager.stream, self.variant, problems.REASONS)
        metrics.workers_running.labels(self.manager.stream, self.variant).inc()
        try:
            self.poll_loop()
        except Exception:
            log.exception("%r crashed", self)
            self.report_trouble("worker crashed")
        finally:
            metrics.workers_running.labels(self.manager.stream, self.variant).dec()
            self.manager.worker_stopped(self)

    def poll_loop(self):
        delays = error_delays()
        while not self.stopping.is_set():
            try:
                read_at = utcnow()
                playlist = self.fetch_playlist()
            except (requests.RequestException, ValueError, PlaylistGone) as e:
                kind = "gone" if isinstance(e, PlaylistGone) else (
                    "invalid" if isinstance(e, ValueError) else error_kind(e))
                metrics.playlist_errors.labels(self.manager.stream, self.variant, kind).inc()
                self.report_trouble(f"media playlist fetch failed: {e}")
                self.stopping.wait(next(delays))
                continue
            delays = error_delays()
            newest = self.handle(playlist, read_at)
            if playlist.ended:
                log.info("%r: playlist ended (EXT-X-ENDLIST); stopping", self)
                self.ended = True
                return
            after_new, retry = poll_delays(playlist.target_duration, newest)
            self.stopping.wait(after_new if newest is not None else retry)

    def fetch_playlist(self):
        resp = self.manager.session.get(self.url, timeout=self.playlist_timeout)
        if resp.status_code in (403, 404):
            raise PlaylistGone(f"HTTP {resp.status_code} on media playlist")
        resp.raise_for_status()
        return parse_media_playlist(resp.text, self.url)

    def handle(self, playlist, read_at=None):
        """Submit every new segment. Returns the duration of the newest one, or None.
        read_at: when the playlist was read (naive UTC; default now), for clock anchors."""
        read_at = read_at or utcnow()
        estimates = None
        newest = None
        first = playlist.entries[0] if playlist.entries else None
        for entry, previous in new_entries(playlist.entries, self.known):
            newest = entry.duration
            if previous is None and entry is first:
                previous = self.follows_tail(entry)
            anchor = False
            try:
                start, skew = segment_start(entry.pdt, previous)
            except UnknownStart:
                # No stamp, nothing to count from: a new run, anchored on the clock.
                if estimates is None:
                    estimates = clock_estimates(playlist.entries, read_at)
                start, skew, anchor = estimates[entry.id], None, True
                if self.tail is not None and entry.discontinuity:
                    start = after_discontinuity(self.tail[1] + self.tail[2], start,
                                                playlist.target_duration)
            start = self.take(entry, start, skew, anchor)
            self.known[entry.id] = (start, entry.duration)
            self.tail = None if entry.ad else (entry.seq, start, entry.duration)
        # Forget segments that have left the playlist.
        current = {entry.id for entry in playlist.entries}
        self.known = {key: value for key, value in self.known.items() if key in current}
        return newest

    def shift(self, since, shift):
        """Move the starts of the run beginning at `since` (another node's timeline)."""
        self.known = {key: (start + shift if start >= since else start, duration)
                      for key, (start, duration) in self.known.items()}
        if self.tail is not None and self.tail[1] >= since:
            self.tail = (self.tail[0], self.tail[1] + shift, self.tail[2])

    def follows_tail(self, entry):
        """The newest entry we handled, if this one (first in its playlist) is its successor by
        media sequence number: the playlist moved on past everything it showed before."""
        tail = self.tail
        if tail is not None and not entry.discontinuity and entry.seq == tail[0] + 1:
            return tail[1], tail[2]
        return None

    def take(self, entry, start, skew, anchor):
        """Submit one new entry (or say why not); returns its start, which an anchor may move."""
        stream = self.manager.stream
        if entry.gap:
            metrics.gap_segments.labels(stream, self.variant).inc()
            log.debug("%r: EXT-X-GAP at %s: not fetched", self, start)
            return start
        if entry.ad:
            metrics.ad_segments.labels(stream, self.variant).inc()
            log.debug("%r: skipping ad segment at %s", self, start)
            return start
        if entry.bad is not None:
            self.manager.complaints.report(self.variant, problems.MALFORMED,
                f"segment {entry.uri}: {entry.bad}")
            return start
        problem = entry.key.problem() if entry.key is not None else None
        if problem is not None:
            reason, message = problem
            self.manager.complaints.report(self.variant, reason,
                f"segments are encrypted with {message}, which cannot be decrypted here")
            return start
        if skew is not None and skew:
            self.check_skew(start, skew)
        if not self.saw_content:
            self.saw_content = True
            self.manager.worker_working(self)
        job = SegmentJob(stream, self.variant, entry.uri, start, entry.duration, entry.init_uri,
            force_suspect=self.untrusted, byterange=entry.byterange, key=entry.key,
            seq=entry.seq, init_range=entry.init_range)
        if anchor:
            return self.manager.anchor(job)
        self.manager.submit(job)
        return start

    def check_skew(self, start, skew):
        if skew_exceeds(skew, self.skew_limit):
            metrics.skew_events.labels(self.manager.stream, self.variant).inc()
            if not self.untrusted:
                self.untrusted = True
                log.warning("%r: segment at %s is stamped %.3fs off the previous segment's end;"
                    " storing this worker's segments as suspect", self, start,
                    skew.total_seconds())
            self.report_trouble("program date times skewed")
        elif abs(skew.total_seconds()) > 0.001:
            log.debug("%r: segment at %s skewed by %.3fs", self, start, skew.total_seconds())


