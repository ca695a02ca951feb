"""A worker follows one variant's media playlist and hands each new segment to its manager."""

import itertools
import logging
import time

import gevent
import gevent.event
import requests

from . import metrics
from .download import SegmentJob, error_kind
from .playlist import new_entries, parse_media_playlist
from .times import UnknownStart, segment_start, skew_exceeds

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class PlaylistGone(Exception):
    """403/404 on the media playlist URL: it has expired or the stream moved."""


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
        self.known = {}          # segment URI -> (start, duration), or None if unusable
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
        error_delay = 1
        while not self.stopping.is_set():
            try:
                playlist = self.fetch_playlist()
            except (requests.RequestException, ValueError, PlaylistGone) as e:
                kind = "gone" if isinstance(e, PlaylistGone) else (
                    "invalid" if isinstance(e, ValueError) else error_kind(e))
                metrics.playlist_errors.labels(self.manager.stream, self.variant, kind).inc()
                self.report_trouble(f"media playlist fetch failed: {e}")
                self.stopping.wait(error_delay)
                error_delay = min(error_delay * 2, 10)
                continue
            error_delay = 1
            newest = self.handle(playlist)
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

    def handle(self, playlist):
        """Submit every new segment. Returns the duration of the newest one, or None."""
        newest = None
        for entry, previous in new_entries(playlist.entries, self.known):
            newest = entry.duration
            try:
                start, skew = segment_start(entry.pdt, previous)
            except UnknownStart as e:
                self.known[entry.uri] = None
                self.report_trouble(str(e))
                continue
            self.known[entry.uri] = (start, entry.duration)
            if entry.ad:
                metrics.ad_segments.labels(self.manager.stream, self.variant).inc()
                log.debug("%r: skipping ad segment at %s", self, start)
                continue
            if skew is not None and skew:
                self.check_skew(start, skew)
            if not self.saw_content:
                self.saw_content = True
                self.manager.worker_working(self)
            self.manager.submit(SegmentJob(self.manager.stream, self.variant, entry.uri, start,
                entry.duration, entry.init_uri, force_suspect=self.untrusted))
        # Forget segments that have left the playlist.
        current = {entry.uri for entry in playlist.entries}
        self.known = {uri: value for uri, value in self.known.items() if uri in current}
        return newest

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


