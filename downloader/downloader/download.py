"""Fetching one segment into the archive: streamed, hashed, retried, typed honestly.

A segment may be a byte range of a larger file (fetched with an HTTP Range request) and may be
AES-128 encrypted (decrypted as it streams in: the archive holds, and hashes, the clear bytes).
"""

import logging
import time
from collections import OrderedDict

import gevent
import gevent.lock
import requests
import urllib3

from common.disk_full import DiskFullLog, is_disk_full
from common.fs import jitter
from common.segment_files import SegmentWriter

from . import metrics, problems
from .decrypt import DecryptError, SegmentDecryptor, sequence_iv

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


# Keys and init sections are small and few (one per stream rotation): keep the newest ones.
SMALL_CACHE_SIZE = 16


class Gone(Exception):
    """The origin says the segment does not exist (any more) or may not be fetched: 403/404."""


class DiskFull(Exception):
    """The archive's disk is full: nothing of this attempt is stored; retried."""


class Unrecordable(Exception):
    """The segment cannot be recorded at all (its key is refused or does not decrypt it);
    `reason` is one of problems.REASONS."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


class SegmentJob:
    """Everything needed to fetch one segment. `force_suspect`: the worker no longer trusts its
    start times (clock skew), so even a complete copy is stored as suspect. `byterange` (a
    playlist.ByteRange) and `key` (a playlist.Key, AES-128) as the playlist gives them; `seq` is
    the media sequence number (the IV when the key has none). `resolve`, if set, is called once
    with the hash of the bytes received before the file is named, and returns (start, stored):
    the start to name it by, and whether a full copy is stored there already."""

    def __init__(self, stream, variant, uri, start, duration, init_uri=None, force_suspect=False,
            byterange=None, key=None, seq=0, init_range=None):
        self.stream = stream
        self.variant = variant
        self.uri = uri
        self.start = start
        self.duration = duration
        self.init_uri = init_uri
        self.force_suspect = force_suspect
        self.byterange = byterange
        self.key = key
        self.seq = seq
        self.init_range = init_range
        self.resolve = None

    @property
    def id(self):
        """The same segment: same URI and byte range."""
        return (self.uri, self.byterange)

    def describe(self):
        return f"{self.stream} {self.variant} segment at {self.start}"


class Downloader:
    """Fetches segments for one stream; shared by all its workers."""

    def __init__(self, session, base_dir, suspect_after=59, retry_deadline=20 * 60,
            connect_timeout=5, read_timeout=20, first_retry_delay=0.5, max_retry_delay=15,
            complaints=None):
        self.session = session
        self.base_dir = base_dir
        self.suspect_after = suspect_after
        self.retry_deadline = retry_deadline
        self.timeouts = (connect_timeout, read_timeout)
        self.first_retry_delay = first_retry_delay
        self.max_retry_delay = max_retry_delay
        self.complaints = complaints
        # (URI, byte range) -> bytes, for init sections and keys: each fetched once.
        self.small_files = OrderedDict()
        self.small_lock = gevent.lock.BoundedSemaphore()
        self.transferring = set()  # ids of jobs with a request in flight
        self.disk_full = DiskFullLog(log)

    def in_transfer(self, job):
        return id(job) in self.transferring

    def get(self, uri, byterange=None, stream=False):
        """One request on a fresh connection (a broken one must not be reused), with the
        session's headers (User-Agent); segments, keys and init sections alike."""
        headers = dict(self.session.headers)
        headers["Connection"] = "close"
        if byterange is not None:
            headers["Range"] = byterange.header()
        return requests.get(uri, stream=stream, timeout=self.timeouts, headers=headers)

    def get_small(self, what, uri, byterange=None):
        """An init section or a key: fetched once per URI (and range) and remembered.
        Gone on 403/404; requests errors (retried by fetch like a segment's) otherwise."""
        with self.small_lock:   # segments arriving together share one fetch
            data = self.small_files.get((uri, byterange))
            if data is None:
                resp = self.get(uri, byterange)
                if resp.status_code in (403, 404):
                    raise Gone(f"{what} {uri}: HTTP {resp.status_code}")
                resp.raise_for_status()
                data = resp.content
                if byterange is not None:
                    data = _range_of(data, resp.status_code, byterange)
                self.small_files[(uri, byterange)] = data
                while len(self.small_files) > SMALL_CACHE_SIZE:
                    self.small_files.popitem(last=False)
            return data

    def forget_key(self, job):
        with self.small_lock:
            self.small_files.pop((job.key.uri, None), None)

    def decryptor(self, job):
        """A SegmentDecryptor for an AES-128 job (None if clear); Unrecordable if its key
        cannot be had."""
        if job.key is None:
            return None
        try:
            key = self.get_small("key", job.key.uri)
        except Gone as e:
            raise Unrecordable(problems.KEY_UNAVAILABLE, f"the key cannot be fetched: {e}")
        try:
            return SegmentDecryptor(key, job.key.iv or sequence_iv(job.seq))
        except DecryptError as e:
            raise Unrecordable(problems.KEY_INVALID, f"key {job.key.uri}: {e}")

    def fetch(self, job):
        """Fetch until a complete copy is stored or it is hopeless. Returns the final type
        stored last ('full', 'suspect', 'partial') or None if nothing was stored."""
        deadline = time.monotonic() + self.retry_deadline
        delay = self.first_retry_delay
        stored = None
        key_refetched = False
        while True:
            try:
                result = self.attempt(job)
            except Unrecordable as e:
                if e.reason == problems.KEY_INVALID and not key_refetched:
                    # The key behind its URI may have changed since we kept it: once more,
                    # with the key fetched afresh.
                    key_refetched = True
                    self.forget_key(job)
                    continue
                self.complain(job, e)
                return stored
            except Gone as e:
                log.warning("giving up on %s %s segment at %s: %s",
                    job.stream, job.variant, job.start, e)
                metrics.segment_errors.labels(job.stream, job.variant, "gone").inc()
                return stored
            except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
                # Fetching the init section or key failed: nothing written yet.
                metrics.segment_errors.labels(job.stream, job.variant, error_kind(e)).inc()
                self.small_failed(job, e)
                result = None
            except (DiskFull, OSError) as e:
                # The archive itself failed (disk full, permissions): worth retrying, loudly.
                self.archive_failed(job, e)
                result = None
            if result in ("full", "suspect"):
                self.disk_full.succeeded(f"{job.stream} {job.variant}")
                return result
            if result == "partial":
                stored = "partial"
            if time.monotonic() + delay > deadline:
                log.error("giving up on %s %s segment at %s after %d minutes of retries",
                    job.stream, job.variant, job.start, self.retry_deadline // 60)
                return stored
            gevent.sleep(jitter(delay))
            delay = min(delay * 2, self.max_retry_delay)

    def archive_failed(self, job, error):
        metrics.segment_errors.labels(job.stream, job.variant, "io").inc()
        if isinstance(error, DiskFull) or is_disk_full(error):
            self.disk_full.failed(f"{job.describe()} into {self.base_dir}",
                                  error.__cause__ or error)
        else:
            log.error("%s: cannot write to the archive: %s", job.describe(), error)

    def complain(self, job, error):
        if self.complaints is not None:
            self.complaints.report(job.variant, error.reason, f"segment at {job.start}: {error}")
        else:
            log.error("not recording %s: %s", job.describe(), error)

    def small_failed(self, job, error):
        """The init section or key could not be fetched (retried like a segment)."""
        if self.complaints is not None:
            self.complaints.retrying(job.variant, f"segment at {job.start}: init section or key:"
                                     f" {error}")
        else:
            log.warning("%s: init section or key: %s, will retry", job.describe(), error)

    def probe(self, job):
        """One attempt now (for the first segment of a timeline being anchored): the type
        stored, or None. Errors are counted and logged like fetch's; nothing is retried."""
        try:
            return self.attempt(job)
        except Unrecordable:
            pass  # fetch, which follows a probe that stored nothing, tells (and counts) it once
        except Gone as e:
            log.warning("%s: %s", job.describe(), e)
            metrics.segment_errors.labels(job.stream, job.variant, "gone").inc()
        except (requests.RequestException, urllib3.exceptions.HTTPError) as e:
            metrics.segment_errors.labels(job.stream, job.variant, error_kind(e)).inc()
            self.small_failed(job, e)
        except (DiskFull, OSError) as e:
            self.archive_failed(job, e)
        return None

    def attempt(self, job):
        """One try on a fresh connection. Returns the type stored, or None if nothing was."""
        init = self.get_small("init section", job.init_uri, job.init_range) \
            if job.init_uri else b""
        decryptor = self.decryptor(job)
        started = time.monotonic()
        self.transferring.add(id(job))
        try:
            return self.transfer(job, init, decryptor, started)
        finally:
            self.transferring.discard(id(job))

    def transfer(self, job, init, decryptor, started):
        with SegmentWriter(self.base_dir, job.stream, job.variant, job.start, job.duration) as writer:
            body_bytes = 0
            try:
                resp = self.get(job.uri, job.byterange, stream=True)
                with resp:
                    if resp.status_code in (403, 404):
                        raise Gone(f"HTTP {resp.status_code}")
                    if resp.status_code not in (200, 206) or (
                            resp.status_code == 206 and job.byterange is None):
                        metrics.segment_errors.labels(job.stream, job.variant,
                            f"http_{resp.status_code // 100}xx").inc()
                        log.warning("%s %s segment at %s: HTTP %d, will retry",
                            job.stream, job.variant, job.start, resp.status_code)
                        return None
                    if init:
                        writer.write(init)
                    body = iter_body(resp)
                    if job.byterange is not None:
                        body = _range_body(body, resp, job.byterange)
                    for chunk in body:
                        body_bytes += len(chunk)
                        writer.write(decryptor.update(chunk) if decryptor else chunk)
                    if job.byterange is not None and body_bytes < job.byterange.length:
                        raise urllib3.exceptions.ProtocolError(
                            f"range ended after {body_bytes} of {job.byterange.length} bytes")
                    if decryptor is not None:
                        writer.write(decryptor.finish())
            except DecryptError as e:
                # A wrong key: what we have is not the video. Nothing is stored.
                raise Unrecordable(problems.KEY_INVALID, str(e)) from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as e:
                if is_disk_full(e):
                    # Not the origin's fault, and nothing can be kept: no partial either.
                    raise DiskFull(str(e)) from e
                metrics.segment_errors.labels(job.stream, job.variant, error_kind(e)).inc()
                if body_bytes == 0:
                    log.warning("%s %s segment at %s: %s, will retry",
                        job.stream, job.variant, job.start, e)
                    return None  # the with block aborts the empty temp file
                if decryptor is not None:
                    writer.write(decryptor.rest())
                self.finish(writer, job, "partial")
                log.warning("%s %s segment at %s broke after %d bytes (%s): kept as partial,"
                    " will retry", job.stream, job.variant, job.start, body_bytes, e)
                return "partial"
            except gevent.GreenletExit:
                # Stopping: keep whatever arrived rather than lose it.
                if body_bytes:
                    if decryptor is not None:
                        writer.write(decryptor.rest())
                    job.resolve = None  # no time to look for other copies
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
            return self.finish(writer, job, kind)

    def finish(self, writer, job, kind):
        """Name and store the file as `kind`; returns kind ("full" if `resolve` found a full
        copy of the same bytes stored already, which is then left as it is)."""
        if job.resolve is not None:
            resolve, job.resolve = job.resolve, None
            job.start, stored = resolve(writer.content_hash())
            if stored:
                writer.abort()
                return "full"
        path = writer.finish(kind, start=job.start)
        metrics.segments_downloaded.labels(kind, job.stream, job.variant).inc()
        metrics.seconds_downloaded.labels(kind, job.stream, job.variant).inc(
            job.duration.total_seconds())
        metrics.note_newest(job.stream, job.variant, job.start)
        log.debug("stored %s", path)
        return kind


def iter_body(resp):
    """The body in pieces as they arrive. Unlike iter_content, a connection that breaks part
    way does not lose the bytes that arrived in the last read: they are yielded first."""
    while True:
        chunk = resp.raw.read1(CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


def _range_body(chunks, resp, byterange):
    """The bytes of `byterange` from a response to a Range request: a 206 holds just them; a
    server that ignores Range (200) sends the whole file, whose other bytes are skipped."""
    skip = byterange.offset if resp.status_code == 200 else 0
    if resp.status_code == 200:
        log.debug("%s ignored the Range header; skipping %d bytes", resp.url, skip)
    want = byterange.length
    for chunk in chunks:
        if skip:
            if len(chunk) <= skip:
                skip -= len(chunk)
                continue
            chunk, skip = chunk[skip:], 0
        if len(chunk) >= want:
            yield chunk[:want]
            return
        want -= len(chunk)
        yield chunk


def _range_of(data, status, byterange):
    """The range's bytes of a small whole response (see _range_body)."""
    if status == 200:
        data = data[byterange.offset:]
    return data[:byterange.length]


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

