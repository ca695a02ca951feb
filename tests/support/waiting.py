"""Synchronising tests with real processes: poll a condition under a deadline, never sleep blind."""

import socket
import time
from contextlib import closing


def wait_for(condition, timeout=10, message="condition", interval=0.05):
    """Poll until condition() is truthy and return its value; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)  # gevent-patched in tests: other greenlets run meanwhile


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (the OS picks it)."""
    with closing(socket.socket()) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
