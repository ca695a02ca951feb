"""HTTP client for one peer's restreamer: its listings, and segment downloads into the archive."""

import json
import re
import urllib.parse

import gevent
import requests
from requests.adapters import HTTPAdapter

from common.segment_files import SegmentWriter
from common.stats import timed

CHUNK = 256 * 1024
# Wall seconds per byte of a transfer: 1e-8 is 100 MB/s, 1e-5 is 100 kB/s.
SECONDS_PER_BYTE = (1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 1e-4)


class PeerError(Exception):
    """One request to a peer failed (HTTP error status, bad listing, too slow); others may work."""


class PeerUnreachable(PeerError):
    """The peer refused the connection or stopped answering: stop asking it until the next pass."""


def make_session(concurrency):
    """A keep-alive session with room for `concurrency` connections to each peer."""
    from common.http_client import InstrumentedSession
    session = InstrumentedSession("backfiller")
    # Peers are contacted directly: no proxy or netrc from the environment, which requests
    # would otherwise look up on every request (a tenth of the CPU time per segment).
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, concurrency))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class PeerClient:
    """Requests to one peer.

    `timeout`: seconds a peer may stay silent (connecting, or between two reads) before it counts
    as unreachable. `deadline`: seconds a whole request may take, so that a peer trickling bytes
    cannot hold a download (and its connection slot) forever.
    """

    def __init__(self, peer, session, timeout, deadline):
        self.peer, self.session = peer, session
        self.timeout, self.deadline = timeout, deadline

    def url(self, *parts):
        return self.peer.url + "/" + "/".join(urllib.parse.quote(p, safe=":") for p in parts)

    def list(self, *parts):
        """GET /files/PARTS -> list of names (a missing directory is [] on the peer's side)."""
        url = self.url("files", *parts)
        with self._guard(url):
            response = self.session.get(url, timeout=(self.timeout, self.timeout))
            _check_status(response, url)
            try:
                names = response.json()
            except (ValueError, json.JSONDecodeError):
                raise PeerError(f"{url}: listing is not JSON") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PeerError(f"{url}: listing is not a list of names")
        return names

    @timed("backfiller_fetch", normalize=lambda ret, *args: ret[1], unit="byte",
           normalized_buckets=SECONDS_PER_BYTE, peer=lambda ret, client, *args: client.peer.name)
    def fetch(self, base_dir, stream, variant, hour, name, segment):
        """Download one segment into the archive, verifying the hash its name promises.

        Returns (path, bytes). Raises HashMismatch (nothing kept), PeerError or PeerUnreachable.
        The bytes go to a temp file as they arrive; any failure deletes it. Timed per peer:
        backfiller_fetch_latency_seconds, and _normalized_ per byte (transfer, hash, fsync)."""
        url = self.url("segments", stream, variant, hour, name)
        with self._guard(url):
            with self.session.get(url, stream=True,
                                  timeout=(self.timeout, self.timeout)) as response:
                _check_status(response, url)
                with SegmentWriter(base_dir, stream, variant, segment.start,
                                   segment.duration) as writer:
                    for chunk in response.iter_content(CHUNK):
                        writer.write(chunk)
                    # finish() fsyncs: in a thread, so that the other downloads (and the other
                    # peers) go on meanwhile and concurrent fsyncs share the disk's flushes.
                    path = gevent.get_hub().threadpool.apply(
                        writer.finish, (segment.type,), {"expected_hash": segment.hash})
        return path, writer.bytes_written

    def _guard(self, url):
        return _Guard(url, self.deadline)


class _Guard:
    """Maps transport failures to PeerUnreachable/PeerError and enforces the deadline."""

    def __init__(self, url, deadline):
        self.url = url
        self.timeout = gevent.Timeout(deadline)

    def __enter__(self):
        self.timeout.start()

    def __exit__(self, exc_type, exc, tb):
        self.timeout.close()
        if exc is None:
            return False
        if exc is self.timeout:
            raise PeerError(f"{self.url}: took longer than {self.timeout.seconds}s") from None
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            raise PeerUnreachable(f"{self.url}: {_short(exc)}") from None
        if isinstance(exc, requests.RequestException):
            raise PeerError(f"{self.url}: {_short(exc)}") from None
        return False


def _check_status(response, url):
    if response.status_code != 200:
        # Only the start of the body: an error page could be arbitrarily large.
        head = next(response.iter_content(200), b"").decode("utf-8", "replace").strip()
        reason = head.splitlines()[0] if head else ""
        raise PeerError(f"{url}: HTTP {response.status_code} {reason}".rstrip())


_REASON = re.compile(r"\[Errno -?\d+\] [^'\")]+|[Rr]ead timed out|timed out|"
                     r"Connection aborted|Connection reset by peer|RemoteDisconnected")


def _short(exc):
    """requests wraps urllib3 errors several deep; the innermost reason is what an operator
    needs ("[Errno 111] Connection refused", "Read timed out")."""
    text = str(exc)
    found = _REASON.search(text)
    if found:
        return found.group(0).strip()
    return text if len(text) < 200 else text[:200] + "..."
