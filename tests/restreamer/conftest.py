"""A real restreamer process (`python -m restreamer`) on a synthetic archive."""

import os
import re
import signal
import subprocess
import sys
import time

import gevent
import pytest
import requests
from support.waiting import wait_for as _wait_for


class Restreamer:
    """`python -m restreamer --port 0` on base_dir; the port is read from its start-up log."""

    def __init__(self, base_dir, *flags):
        self.base_dir = base_dir
        self.log = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "restreamer", "--base-dir", base_dir, "--host", "127.0.0.1",
             "--port", "0", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        self.port = None
        while self.port is None:
            line = self.proc.stderr.readline().decode(errors="replace")
            if not line:
                raise RuntimeError("restreamer exited during start-up: " + "".join(self.log))
            self.log.append(line)
            match = re.search(r"serving .* on http://[^:]+:(\d+)/", line)
            if match:
                self.port = int(match.group(1))
            if time.monotonic() > deadline:
                raise RuntimeError("restreamer did not start: " + "".join(self.log))
        self.reader = gevent.spawn(self._read_log)
        self.session = requests.Session()

    def _read_log(self):
        for line in self.proc.stderr:
            self.log.append(line.decode(errors="replace"))

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, **kwargs):
        return self.session.get(self.url(path), timeout=60, **kwargs)

    def children(self):
        """pids of the server's child processes (ffmpeg)."""
        pids = []
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                    pids += f.read().split()
            except FileNotFoundError:
                pass
        return pids

    def stop(self, timeout=20):
        """SIGTERM, then the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.session.close()


@pytest.fixture(scope="session")
def restreamer_factory():
    started = []

    def start(base_dir, *flags):
        server = Restreamer(str(base_dir), *flags)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def wait_for():
    """wait_for(condition, timeout=10, message=...): poll until condition() is truthy."""
    return _wait_for
