"""Synchronising tests with real processes: poll a condition under a deadline, never sleep blind."""

import signal
import socket
import subprocess
import time
from contextlib import closing


def poll(condition, timeout=10, interval=0.05):
    """Poll until condition() is truthy and return its value; after `timeout` seconds, return
    its last (falsy) value, for callers that fail with a message of their own."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)  # gevent-patched in tests: other greenlets run meanwhile


def wait_for(condition, timeout=10, message="condition", interval=0.05):
    """Poll until condition() is truthy and return its value; fail naming what was awaited."""
    value = poll(condition, timeout, interval)
    if not value:
        raise AssertionError(f"timed out after {timeout}s waiting for {message}")
    return value


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (the OS picks it)."""
    with closing(socket.socket()) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def stop_process(proc, timeout=20):
    """SIGTERM a daemon started with text-mode pipes; -> (exit code, its whole output). Fails the
    test if it does not stop in time (after killing it, so nothing outlives the test)."""
    proc.send_signal(signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        raise AssertionError(f"{proc.args[:3]} did not stop on SIGTERM:\n" + output[-3000:])
    return proc.returncode, output
