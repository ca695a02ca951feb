"""The streams and variants editors may cut: what the restreamers list (GET /files,
/files/STREAM), merged over every --restreamer-url.

Asked of the restreamers rather than read from a segments directory: the page plays from the
same restreamers, so what they list is exactly what an editor can see, and the editor needs no
access to the archive (it may run on any machine). The answer is kept for `max_age` seconds;
after that the next caller gets the kept answer at once while one greenlet asks again, so a
slow or dead restreamer never delays a request once a first answer exists. If no restreamer
answers, the last answer stays in use (and the failure is logged).
"""

import logging
import time

import gevent
import gevent.lock

from common.http_client import InstrumentedSession
from common.service import one_line, safe_name

log = logging.getLogger(__name__)


class StreamsUnknown(Exception):
    """No restreamer has answered yet."""


class StreamCatalog:
    def __init__(self, urls, max_age=30.0, timeout=5.0, clock=time.monotonic):
        self.urls = [url.rstrip("/") for url in urls]
        self.max_age, self.clock = max_age, clock
        self.session = InstrumentedSession("editor_restreamers", timeout=timeout)
        self.streams = None  # {stream: [variant, ...]} once any restreamer answered
        self.error = None
        self.fetched_at = None
        self._lock = gevent.lock.Semaphore()
        self._refreshing = None

    def get(self):
        """{stream: [variants]}; raises StreamsUnknown while no restreamer has answered."""
        if self.streams is None:
            with self._lock:  # the first callers wait for one fetch, not one each
                if self.streams is None:
                    self.refresh()
            if self.streams is None:
                raise StreamsUnknown(self.error)
        elif self.clock() - self.fetched_at > self.max_age and not self._refreshing:
            self._refreshing = gevent.spawn(self._refresh_in_background)
        return self.streams

    def _refresh_in_background(self):
        try:
            self.refresh()
        finally:
            self._refreshing = None

    def refresh(self):
        merged, errors = {}, []
        for url in self.urls:
            try:
                for stream, variants in self._list(url).items():
                    known = merged.setdefault(stream, [])
                    known += [v for v in variants if v not in known]
            except Exception as e:  # any failure of one restreamer: ask the next
                errors.append(f"{url}: {type(e).__name__}: {one_line(e, 200)}")
        if errors:
            self.error = "; ".join(errors)
            log.warning("cannot list streams from %s", self.error)
        if len(errors) < len(self.urls):
            self.streams = {s: sorted(v) for s, v in sorted(merged.items())}
            self.error = None
        self.fetched_at = self.clock()

    def _list(self, url):
        streams = {}
        for stream in self._names(f"{url}/files"):
            streams[stream] = self._names(f"{url}/files/{stream}")
        return streams

    def _names(self, url):
        response = self.session.get(url)
        response.raise_for_status()
        names = response.json()
        if not isinstance(names, list):
            raise ValueError(f"{url} did not answer with a JSON list")
        return [n for n in names if isinstance(n, str) and safe_name(n)]
