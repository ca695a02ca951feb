"""Peers for backfiller tests: real restreamer processes, and small misbehaving HTTP servers
(real HTTP on loopback) for what a healthy restreamer never does."""

import json
import os
import socket
import subprocess
import sys
import urllib.parse
from contextlib import closing

import gevent
import pytest
from gevent.pywsgi import WSGIServer
from support.restreamer_process import Restreamer
from support.waiting import free_port, wait_for as wait_until

HOST = "127.0.0.1"


@pytest.fixture
def restreamers():
    """start(base_dir, ...) -> list of ready Restreamers (started in parallel)."""
    started = []

    def start(*base_dirs):
        group = [Restreamer(base) for base in base_dirs]
        started.extend(group)
        return [r.wait_ready() for r in group]

    yield start
    for r in started:
        r.stop()


class FakePeer:
    """Serves the restreamer's /files and /segments routes from a directory, but badly on
    purpose: listings include every file (temp and junk names too), `corrupt` names are served
    with other bytes than their hash promises. Records every path requested."""

    def __init__(self, base_dir, corrupt=(), fail=(), delay=0, trickle=0, port=0):
        self.base_dir = str(base_dir)
        self.corrupt = set(corrupt)   # names served with bytes that do not match their hash
        self.fail = set(fail)         # names answered with a 500
        self.delay = delay            # seconds each segment response waits before its body
        self.trickle = trickle        # if set: the body comes in 10 pieces, this many s apart
        self.requested = []
        self.active = self.max_active = 0  # concurrent segment requests
        self.server = WSGIServer((HOST, port), self.app, log=None)
        self.server.start()
        self.url = f"http://{HOST}:{self.server.server_port}"

    def app(self, environ, start_response):
        path = urllib.parse.unquote(environ["PATH_INFO"])
        self.requested.append(path)
        parts = [p for p in path.split("/") if p]
        if any(p.startswith(".") for p in parts):
            start_response("404 Not Found", [])
            return [b"not found"]
        if parts[:1] == ["files"]:
            directory = os.path.join(self.base_dir, *parts[1:])
            names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(names).encode()]
        if parts[:1] == ["segments"] and len(parts) == 5:
            if parts[-1] in self.fail:
                start_response("500 Internal Server Error", [])
                return [b"injected failure"]
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            try:
                gevent.sleep(self.delay)
            finally:
                self.active -= 1
            file_path = os.path.join(self.base_dir, *parts[1:])
            if os.path.isfile(file_path):
                with open(file_path, "rb") as f:
                    data = f.read()
                if parts[-1] in self.corrupt:
                    data = data[:-10] + b"corrupted!"
                start_response("200 OK", [("Content-Type", "video/MP2T"),
                                          ("Content-Length", str(len(data)))])
                return self._trickled(data) if self.trickle else [data]
        start_response("404 Not Found", [])
        return [b"not found"]

    def _trickled(self, data):
        piece = len(data) // 10 + 1
        for i in range(0, len(data), piece):
            yield data[i:i + piece]
            gevent.sleep(self.trickle)

    def segment_requests(self):
        return [p for p in self.requested if p.startswith("/segments/")]

    def stop(self):
        self.server.stop(timeout=1)


@pytest.fixture
def fake_peer():
    peers = []

    def start(base_dir, **kwargs):
        peer = FakePeer(base_dir, **kwargs)
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.stop()


@pytest.fixture
def hanging_peer_url():
    """A peer that accepts connections (the kernel completes the handshake) and never answers."""
    with closing(socket.socket()) as s:
        s.bind((HOST, 0))
        s.listen(64)
        yield f"http://{HOST}:{s.getsockname()[1]}"


@pytest.fixture
def down_peer_url():
    """A loopback port nobody listens on: connection refused."""
    return f"http://{HOST}:{free_port()}"


def _run_backfiller(base_dir, nodes, *extra, timeout=60):
    """`python -m backfiller --run-once` against nodes; returns the CompletedProcess."""
    args = [sys.executable, "-m", "backfiller", "--base-dir", str(base_dir), "--run-once",
            "--recent-cutoff", "0", "--localhost", "test-node"]
    for node in nodes:
        args += ["--node", node]
    return subprocess.run(args + list(extra), capture_output=True, text=True, timeout=timeout)


def _archive_files(base_dir):
    """{relative path: bytes} of every file under base_dir (dot-directories left out)."""
    found = {}
    for root, dirs, files in os.walk(base_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, base_dir)] = f.read()
    return found


# Test modules cannot import this file, so its helpers are handed out as fixtures.
@pytest.fixture
def run_backfiller():
    return _run_backfiller


@pytest.fixture
def archive_files():
    return _archive_files


@pytest.fixture(name="wait_until")
def wait_until_fixture():
    return wait_until
