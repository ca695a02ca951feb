"""A requests.Session that records what it does in Prometheus, by bounded labels only.

    session = InstrumentedSession("backfiller_nodes", timeout=10)
    session.get(url).raise_for_status()

Each request is recorded in `http_client_request_duration_seconds` and
`http_client_requests_total`, labelled by session name, method and outcome: the status class
("2xx", "3xx", "4xx", "5xx") or, when no response came, the exception's type name
("ConnectionError", "ReadTimeout"). Never the URL: it has per-segment/per-hour paths in it.

With `stream=True`, the time recorded is until the response headers arrived; reading the body
is the caller's.
"""

import time

import requests
from prometheus_client import Counter, Histogram

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

request_duration = Histogram(
    "http_client_request_duration_seconds",
    "Time until the response headers of outgoing HTTP requests (or the failure)",
    ["session", "method", "outcome"],
    buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120))
requests_total = Counter(
    "http_client_requests", "Outgoing HTTP requests", ["session", "method", "outcome"])


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx" if 100 <= status_code < 600 else "other"


class InstrumentedSession(requests.Session):
    """requests.Session recording latency and counts; `timeout` (seconds, or a (connect, read)
    pair) applies to requests that do not pass their own: requests has no default, and a
    daemon must never hang forever on a dead peer."""

    def __init__(self, name: str, timeout: float | tuple[float, float] | None = None):
        super().__init__()
        self.name = name
        self.default_timeout = timeout

    def request(self, method: str, url: str, *args: object, **kwargs: object
                ) -> requests.Response:
        if self.default_timeout is not None and kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        method_label = method.upper() if method.upper() in METHODS else "OTHER"
        start = time.monotonic()
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as e:
            self._record(method_label, type(e).__name__, time.monotonic() - start)
            raise
        self._record(method_label, status_class(response.status_code),
                     time.monotonic() - start)
        return response

    def _record(self, method, outcome, elapsed):
        request_duration.labels(self.name, method, outcome).observe(elapsed)
        requests_total.labels(self.name, method, outcome).inc()
