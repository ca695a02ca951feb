import socket

import gevent
import pytest
import requests
from gevent.pywsgi import WSGIServer
from prometheus_client import REGISTRY, generate_latest

from common.http_client import InstrumentedSession


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path.startswith("/slow"):
        gevent.sleep(2)
    status = {"/missing": "404 Not Found", "/broken": "503 Service Unavailable",
              "/moved": "302 Found"}.get(path, "200 OK")
    headers = [("Location", "/ok")] if path == "/moved" else []
    start_response(status, headers)
    return [b"hello"]


@pytest.fixture
def server():
    srv = WSGIServer(("127.0.0.1", 0), app, log=None)
    srv.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.stop()


def count(session, method, outcome):
    labels = dict(session=session, method=method, outcome=outcome)
    return REGISTRY.get_sample_value("http_client_requests_total", labels) or 0


def latency_count(session, method, outcome):
    labels = dict(session=session, method=method, outcome=outcome)
    return REGISTRY.get_sample_value("http_client_request_duration_seconds_count", labels) or 0


def test_records_latency_and_counts_by_status_class(server):
    session = InstrumentedSession("test_status")
    assert session.get(f"{server}/ok/2026-11-27T13/00:01.000000-2.000-full-x.ts").text == \
        "hello"
    session.get(f"{server}/ok")
    session.get(f"{server}/missing")
    session.post(f"{server}/broken", data=b"x")
    assert session.get(f"{server}/moved").status_code == 200  # redirect followed: one request
    session.request("PURGE", f"{server}/ok")
    assert count("test_status", "GET", "2xx") == 3
    assert latency_count("test_status", "GET", "2xx") == 3
    assert count("test_status", "GET", "4xx") == 1
    assert count("test_status", "POST", "5xx") == 1
    assert count("test_status", "OTHER", "2xx") == 1  # unknown methods do not add labels
    assert REGISTRY.get_sample_value("http_client_request_duration_seconds_sum",
        dict(session="test_status", method="GET", outcome="2xx")) > 0
    text = generate_latest(REGISTRY).decode()
    assert "2026-11-27T13" not in text and "/ok" not in text  # never the URL


def test_failures_are_labelled_by_exception_type(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    session = InstrumentedSession("test_failures", timeout=0.3)
    with pytest.raises(requests.ConnectionError):
        session.get(f"http://127.0.0.1:{closed_port}/")
    with pytest.raises(requests.ReadTimeout):
        session.get(f"{server}/slow")  # the session's default timeout applied
    assert count("test_failures", "GET", "ConnectionError") == 1
    assert count("test_failures", "GET", "ReadTimeout") == 1
    # An explicit timeout wins over the session's default.
    assert session.get(f"{server}/ok", timeout=5).status_code == 200
