"""Fetching one segment into the archive: streamed, hashed, retried, typed honestly."""

import logging
import time
import gevent
import gevent.lock
import requests
import urllib3

from common.fs import jitter
from common.segment_files import SegmentWriter

from . import metrics

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class Gone(Exception):
    """The origin says the segment does not exist (any more) or may not be fetched: 403/404."""


class SegmentJob:
    """Everything needed to fetch one segment. `force_suspect`: the worker no longer trusts its
    start times (clock skew), so even a complete copy is stored as suspect."""

    def __init__(self, stream, variant, uri, start, duration, init_uri=None, force_suspect=False):
        self.stream = stream
        self.variant = variant
        self.uri = uri
        self.start = start
        self.duration = duration
        self.init_uri = init_uri
        self.force_suspect = force_suspect


class Downloader:
    """Fetches segments for one stream; shared by all its workers."""

    def __init__(self, session, base_dir, suspect_after=59, retry_deadline=20 * 60,
            connect_timeout=5, read_timeout=20, first_retry_delay=0.5, max_retry_delay=15):
        self.session = session
        self.base_dir = base_dir
        self.suspect_after = suspect_after
        self.retry_deadline = retry_deadline
        self.timeouts = (connect_timeout, read_timeout)
        self.first_retry_delay = first_retry_delay
        self.max_retry_delay = max_retry_delay
        self.init_sections = {}  # init URI -> bytes (fetched once per URI)
        self.init_lock = gevent.lock.BoundedSemaphore()
        self.transferring = set()  # ids of jobs with a request in flight

    def in_transfer(self, job):
        return id(job) in self.transferring

    def get_init_section(self, uri):
        with self.init_lock:   # segments arriving together share one fetch
            return self._get_init_section(uri)

    def _get_init_section(self, uri):
        data = self.init_sections.get(uri)
        if data is None:
            resp = self.session.get(uri, timeout=self.timeouts)
            if resp.status_code in (403, 404):
                raise Gone(f"init section {uri}: HTTP {resp.status_code}")
            resp.raise_for_status()
            data = resp.content
            # Init sections are small and few; keep only recent ones.
            if len(self.init_sections) > 16:
                self.init_sections.clear()
            self.init_sections[uri] = data
        return data

    def fetch(self, job):
        """Fetch until a complete copy is stored or it is hopeless. Returns the final type
        stored last ('full', 'suspect', 'partial') or None if nothing was stored."""
        deadline = time.monotonic() + self.retry_deadline
        delay = self.first_retry_delay
        stored = None
        while True:
            try:
                result = self.attempt(job)
            except Gone as e:
                log.warning("giving up on %s %s segment at %s: %s",
                    job.stream, job.variant, job.start, e)
                metrics.segment_errors.labels(job.stream, job.variant, "gone").inc()
                return stored
            except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
                # Fetching the init section failed: nothing written yet.
                metrics.segment_errors.labels(job.stream, job.variant, error_kind(e)).inc()
                log.warning("%s %s segment at %s: init section: %s, will retry",
                    job.stream, job.variant, job.start, e)
                result = None
            except OSError as e:
                # The archive itself failed (disk full, permissions): worth retrying, loudly.
                metrics.segment_errors.labels(job.stream, job.variant, "io").inc()
                log.error("%s %s segment at %s: cannot write to the archive: %s",
                    job.stream, job.variant, job.start, e)
                result = None
            if result in ("full", "suspect"):
                return result
            if result == "partial":
                stored = "partial"
            if time.monotonic() + delay > deadline:
                log.error("giving up on %s %s segment at %s after %d minutes of retries",
                    job.stream, job.variant, job.start, self.retry_deadline // 60)
                return stored
            gevent.sleep(jitter(delay))
            delay = min(delay * 2, self.max_retry_delay)

    def attempt(self, job):
        """One try on a fresh connection. Returns the type stored, or None if nothing was."""
        init = self.get_init_section(job.init_uri) if job.init_uri else b""
        started = time.monotonic()
        self.transferring.add(id(job))
        try:
            return self.transfer(job, init, started)
        finally:
            self.transferring.discard(id(job))

    def transfer(self, job, init, started):
        with SegmentWriter(self.base_dir, job.stream, job.variant, job.start, job.duration) as writer:
            body_bytes = 0
            try:
                # A fresh connection per attempt: a broken one must not be reused.
                resp = requests.get(job.uri, stream=True, timeout=self.timeouts,
                    headers={"Connection": "close"})
                with resp:
                    if resp.status_code in (403, 404):
                        raise Gone(f"HTTP {resp.status_code}")
                    if resp.status_code != 200:
                        metrics.segment_errors.labels(job.stream, job.variant,
                            f"http_{resp.status_code // 100}xx").inc()
                        log.warning("%s %s segment at %s: HTTP %d, will retry",
                            job.stream, job.variant, job.start, resp.status_code)
                        return None
                    if init:
                        writer.write(init)
                    for chunk in iter_body(resp):
                        writer.write(chunk)
                        body_bytes += len(chunk)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                metrics.segment_errors.labels(job.stream, job.variant, error_kind(e)).inc()
                if body_bytes == 0:
                    log.warning("%s %s segment at %s: %s, will retry",
                        job.stream, job.variant, job.start, e)
                    return None  # the with block aborts the empty temp file
                self.finish(writer, job, "partial")
                log.warning("%s %s segment at %s broke after %d bytes (%s): kept as partial,"
                    " will retry", job.stream, job.variant, job.start, body_bytes, e)
                return "partial"
            except gevent.GreenletExit:
                # Stopping: keep whatever arrived rather than lose it.
                if body_bytes:
                    self.finish(writer, job, "partial")
                raise
            elapsed = time.monotonic() - started
            if body_bytes == 0:
                kind = "suspect"
                log.warning("%s %s segment at %s: empty body, stored as suspect",
                    job.stream, job.variant, job.start)
            elif elapsed > self.suspect_after:
                kind = "suspect"
                log.warning("%s %s segment at %s took %.1fs (more than %ss): stored as suspect",
                    job.stream, job.variant, job.start, elapsed, self.suspect_after)
            elif job.force_suspect:
                kind = "suspect"
            else:
                kind = "full"
            self.finish(writer, job, kind)
            return kind

    def finish(self, writer, job, kind):
        path = writer.finish(kind)
        metrics.segments_downloaded.labels(kind, job.stream, job.variant).inc()
        metrics.seconds_downloaded.labels(kind, job.stream, job.variant).inc(
            job.duration.total_seconds())
        metrics.note_newest(job.stream, job.variant, job.start)
        log.debug("stored %s", path)
        return path


def iter_body(resp):
    """The body in pieces as they arrive. Unlike iter_content, a connection that breaks part
    way does not lose the bytes that arrived in the last read: they are yielded first."""
    while True:
        chunk = resp.raw.read1(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


def error_kind(e):
    """A bounded label for a failed fetch of a playlist or a segment."""
    if isinstance(e, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return "timeout"
    if isinstance(e, requests.HTTPError):  # raise_for_status()
        status = e.response.status_code if e.response is not None else 0
        return f"http_{status // 100}xx"
    if isinstance(e, urllib3.exceptions.ProtocolError):
        return "protocol"
    if isinstance(e, requests.ConnectionError):
        return "connection"
    if isinstance(e, requests.RequestException):
        return "protocol"
    return "io"

