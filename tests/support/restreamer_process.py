"""A real restreamer process (`python -m restreamer`) serving an archive on a free loopback
port, as a peer node's backfiller or downloader sees it."""

import subprocess
import sys

import requests

from support.waiting import free_port, wait_for as wait_until

HOST = "127.0.0.1"


class Restreamer:
    """`python -m restreamer` serving base_dir on a free loopback port."""

    def __init__(self, base_dir):
        self.base_dir = str(base_dir)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "restreamer", "--base-dir", self.base_dir,
             "--host", HOST, "--port", str(self.port), "--log-level", "WARNING"],
            stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout=15):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"restreamer exited with {self.proc.returncode}")
            try:
                return requests.get(self.url + "/files", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False
        wait_until(ready, timeout, message=f"restreamer on port {self.port}")
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
