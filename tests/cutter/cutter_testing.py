"""Helpers for the cutter tests: a real archive, cutters as real processes, events via the CLI.
(Imported by name: conftest.py puts this directory on sys.path.)"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from common import database
from common.segments import format_hour_path
from support.archive import build_archive
from uploader import cli
from support.fake_youtube import FakeYoutube
from support.waiting import wait_for

T0 = datetime(2026, 11, 27, 10, 0, 0)
STREAM, VARIANT = "main", "source"


class Events:
    """Events through the operator CLI (in-process), and direct reads of the table."""

    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = database.DBManager(dsn).get_conn()
        # The test only observes: READ COMMITTED keeps its reads out of the serializable
        # conflict tracking, which could otherwise pick a read as the victim of the cutters'
        # concurrent claims (a SerializationFailure in the test, not in a cutter).
        self.conn.set_session(isolation_level="READ COMMITTED")

    def cli(self, *argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                code = cli.main(["--database", self.dsn] + [str(a) for a in argv])
            except SystemExit as e:
                code = e.code
        assert code == 0, (argv, code)
        return out.getvalue().strip()

    def create_edited(self, start, end, title="Video", location="archive", **options):
        event_id = self.cli("events", "create", "--event-start", start.isoformat())
        self.edit(event_id, start, end, title, location, **options)
        return event_id

    def edit(self, event_id, start, end, title="Video", location="archive", **options):
        argv = ["events", "edit", event_id, "--video-start", start.isoformat(),
                "--video-end", end.isoformat(), "--title", title, "--description", "desc",
                "--stream", STREAM, "--location", location]
        for key, value in options.items():
            flag = "--" + key.replace("_", "-")
            argv += [flag] if value is True else [flag, value]
        self.cli(*argv)

    def get(self, event_id):
        return database.query(self.conn, "SELECT * FROM events WHERE id = %s", event_id).fetchone()

    def state(self, event_id):
        return self.get(event_id).state

    def wait_state(self, event_id, *states, timeout=30):
        return wait_for(lambda: (lambda row: row if row.state in states else None)(
            self.get(event_id)), timeout, message=f"event {event_id} to be {'/'.join(states)}")


@pytest.fixture
def events(db_dsn):
    e = Events(db_dsn)
    yield e
    e.conn.close()


@pytest.fixture
def base_dir(tmp_path):
    base = tmp_path / "segments"
    build_archive(str(base), STREAM, VARIANT, T0, 12)  # 24 seconds of real video
    return base


class Cutters:
    """Cutter daemons as real processes; all stopped (SIGTERM, then SIGKILL) at teardown."""

    def __init__(self, tmp_path, dsn):
        self.tmp_path, self.dsn, self.procs = tmp_path, dsn, []

    def config(self, locations, name="config.json"):
        path = self.tmp_path / name
        path.write_text(json.dumps({"locations": locations}))
        return path

    def local_config(self, directory, **options):
        return self.config({"archive": {"backend": "local",
                                        "options": dict(directory=str(directory), **options)}})

    def start(self, name, config, base_dir, *extra):
        log = open(self.tmp_path / f"cutter-{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cutter", "--name", name, "--database", self.dsn,
             "--base-dir", str(base_dir), "--config", str(config), "--metrics-port", "0",
             "--poll-interval", "0.2", "--watch-interval", "0.2", "--retry-delay", "0.3",
             *map(str, extra)],
            cwd=self.tmp_path, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = self.tmp_path / f"cutter-{name}.log"
        self.procs.append(proc)
        return proc

    def log(self, proc):
        return proc.log_path.read_text()

    def wait_ready(self, proc):
        """Until the daemon handles signals (it logs 'starting' once it does)."""
        wait_for(lambda: proc.poll() is not None or " starting: " in self.log(proc),
                 message="the cutter to start")

    def stop(self, proc, sig=signal.SIGTERM, timeout=20):
        if sig == signal.SIGTERM:
            self.wait_ready(proc)
        if proc.poll() is None:
            proc.send_signal(sig)
        return proc.wait(timeout)

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def cutters(tmp_path, db_dsn):
    c = Cutters(tmp_path, db_dsn)
    yield c
    c.stop_all()


def ffprobe_duration(path, stream=None):
    args = ["ffprobe", "-v", "error", "-show_entries",
            "format=duration" if stream is None else "stream=duration",
            "-of", "default=noprint_wrappers=1:nokey=1"]
    if stream is not None:
        args += ["-select_streams", stream]
    out = subprocess.run(args + [str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


@pytest.fixture
def fake_youtube():
    fake = FakeYoutube()
    yield fake
    fake.close()


def seconds(s):
    return timedelta(seconds=s)


def segment_path(base_dir, index):
    """Path of the archive's segment number `index` (sorted by start)."""
    hour = format_hour_path(base_dir, STREAM, VARIANT, T0)
    return os.path.join(hour, sorted(os.listdir(hour))[index])


class Fifo:
    """Swap a segment for a named pipe with the same name: a cutter reading it blocks until
    release() (a deterministic 'mid-cut'), without changing the archive's listing."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        os.unlink(path)
        os.mkfifo(path)

    def release(self):
        """End any reader blocked on the pipe (it reads EOF). Leaves no orphan ffmpeg behind."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # ENXIO: nobody is reading; or the pipe is gone already
        os.close(fd)

    def restore(self):
        self.release()
        temp = self.path + ".restore"
        with open(temp, "wb") as f:
            f.write(self.data)
        os.replace(temp, self.path)


def videos(directory):
    """Finished videos in a local backend directory (temp files are dot-names)."""
    if not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if not n.startswith(".") and
                  not n.endswith(".json"))
