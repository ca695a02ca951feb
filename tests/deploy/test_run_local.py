"""./run-local end to end: the demo stream, every service, a real database; then a clean stop."""

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta

import pytest

from common.dateutil import utcnow
from support.waiting import poll

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_PORTS = (8000, 8001, 8002, 8003, 8004, 8005, 8010)
MARKER = "RUN_LOCAL_TEST_MARKER"


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_offset():
    for _ in range(100):
        offset = random.randrange(20000, 50000, 20)
        if all(port_free(p + offset) for p in BASE_PORTS):
            return offset
    pytest.fail("no free port range for run-local")


def marked_processes(marker):
    """PIDs of live processes whose environment carries MARKER=marker."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            pass  # gone, or not ours to read
    return found


def wait_until(condition, timeout):
    return poll(condition, timeout, interval=0.2)


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def uploader(dsn, *args):
    result = subprocess.run([sys.executable, "-m", "uploader", "--database", dsn, *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class Node:
    def __init__(self, tmp_path, dsn):
        self.data = tmp_path / "data"
        self.offset = free_offset()
        self.marker = uuid.uuid4().hex
        self.log_path = tmp_path / "run-local.out"
        self.dsn = dsn
        self.url = f"http://127.0.0.1:{8000 + self.offset}"

    def start(self):
        self.log = open(self.log_path, "wb")
        env = dict(os.environ, **{MARKER: self.marker})
        self.process = subprocess.Popen(
            [os.path.join(ROOT, "run-local"), "--data", str(self.data),
             "--port-offset", str(self.offset), "--database", self.dsn],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self, lines=60):
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.log.close()

    def kill_leftovers(self):
        for pid in marked_processes(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def node(tmp_path, db_dsn):
    node = Node(tmp_path, db_dsn)
    node.start()
    yield node
    if node.process.poll() is None:
        node.stop()
    node.kill_leftovers()  # only if the test already failed: never leave them behind


def playlist_entries(text):
    """(program date time, duration) of each segment of a media playlist."""
    stamps = re.findall(r"^#EXT-X-PROGRAM-DATE-TIME:(\S+)Z$", text, re.M)
    durations = re.findall(r"^#EXTINF:([\d.]+),", text, re.M)
    assert len(stamps) == len(durations), text
    return [(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f"), timedelta(seconds=float(d)))
            for s, d in zip(stamps, durations)]


def wait_for_clean_window(node, deadline, min_segments=4):
    """Poll the playlist of the last 20 s (the restreamer lists what has settled) until it has
    MIN_SEGMENTS segments and no discontinuity; return its entries."""
    last = "no answer"
    while time.monotonic() < deadline:
        assert node.process.poll() is None, f"run-local exited:\n{node.output()}"
        end = utcnow()
        query = urllib.parse.urlencode({"start": iso(end - timedelta(seconds=20)),
                                        "end": iso(end)})
        try:
            last = get(f"{node.url}/playlist/demo/source.m3u8?{query}")
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        else:
            entries = playlist_entries(last)
            if len(entries) >= min_segments and "#EXT-X-DISCONTINUITY" not in last:
                return entries
        time.sleep(1)
    pytest.fail(f"no playlist of the last 20 s with {min_segments} segments and no "
                f"discontinuity within 60 s; last answer:\n{last}\n"
                f"run-local output:\n{node.output()}")


def banner_commands(output):
    """The shell lines the banner prints under its 'Once the node has recorded' paragraph,
    continuation lines joined."""
    lines = [re.sub(r"^run-local\s+\| ", "", line) for line in output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("ago (the cutter"))
    commands, current = [], ""
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        current += line.strip()
        if current.endswith("\\"):
            current = current[:-1]
            continue
        commands.append(current)
        current = ""
    return commands


def run_banner_commands(node, start, end):
    commands = banner_commands(node.output(400))
    assert commands[1].startswith("START=$(date") and commands[-1].startswith("watch ")
    script = "\n".join([f"START={start} END={end}"] + [commands[0]] + commands[2:-1]
                       + ['echo "$ID"'])
    result = subprocess.run(["bash", "-euc", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"{script}\n{result.stderr}"
    event_id = result.stdout.strip().splitlines()[-1]
    assert "-> EDITED" in result.stdout, result.stdout
    return event_id


def wait_for_state(node, event_id, state, deadline):
    while time.monotonic() < deadline:
        row = json.loads(uploader(node.dsn, "events", "show", event_id, "--json"))
        if row["state"] == state:
            return row
        assert not (row["error"] and row["state"] == "UNEDITED"), row["error"]
        time.sleep(1)
    pytest.fail(f"event not {state} in time: {row}\nrun-local output:\n{node.output()}")


def listening_addresses(port):
    """The local addresses of the TCP sockets listening on `port` (from /proc/net/tcp)."""
    found = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    with open("/proc/net/tcp6") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                found.add("IPv6 " + local.split(":")[0])
    return found


def ffprobe_duration(path):
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return float(result.stdout.strip())


@pytest.mark.slow
def test_local_node_records_cuts_and_stops_cleanly(node):
    # The 60 s start when the supervisor does (./run-local may first have to install packages).
    assert wait_until(lambda: "run-local        | " in node.output(), 120), node.output()
    entries = wait_for_clean_window(node, time.monotonic() + 60)
    for (start, duration), (next_start, _) in zip(entries, entries[1:]):
        assert abs((start + duration - next_start).total_seconds()) < 0.002  # contiguous

    # Every service is up: each answers /metrics on its offset port, on loopback only.
    for port in (8000, 8001, 8002, 8003, 8004, 8005):
        assert "# HELP" in get(f"http://127.0.0.1:{port + node.offset}/metrics")
        assert listening_addresses(port + node.offset) == {"127.0.0.1"}, port
    # What the banner tells the user to open: a live playlist ffmpeg can play, the coverage page.
    watch = re.search(r"ffplay (\S+)", node.output(200))
    assert watch and watch.group(1) == f"{node.url}/playlist/demo/source.m3u8"
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name",
                            "-of", "csv=p=0", watch.group(1)],
                           capture_output=True, text=True, timeout=30)
    assert set(probe.stdout.split()) == {"h264", "aac"}, probe.stderr
    assert "<html" in get(f"{node.url}/coverage/").lower()
    # The editor, at the URL the banner prints, without sign-in and offering the demo stream.
    editor = f"http://127.0.0.1:{8005 + node.offset}/"
    assert f"Editor (mark moments, send them to the cutter): {editor}" in node.output(200)
    assert "<html" in get(editor).lower()
    assert json.loads(get(editor + "api/session"))["admin"] is True
    assert json.loads(get(editor + "api/config"))["streams"]["demo"]
    running = marked_processes(node.marker)
    assert len(running) >= 7, running  # run-local, the supervisor's children, their helpers

    # An editor's event, created and edited with the operator CLI exactly as the banner says
    # (only START and END are chosen here: the banner's are relative to the time it is typed).
    video_start = entries[0][0] + timedelta(seconds=1)
    video_end = video_start + timedelta(seconds=6)
    event_id = run_banner_commands(node, iso(video_start), iso(video_end))
    # The cutter takes an event once its end is 30 s old (cutter.jobs.RECORDING_MARGIN).
    row = wait_for_state(node, event_id, "DONE", time.monotonic() + 75)
    assert row["video_title"] == "My highlight" and row["upload_location"] == "local"
    link = urllib.parse.urlparse(row["video_link"])
    assert link.scheme == "file"
    video = urllib.parse.unquote(link.path)
    assert os.path.dirname(video) == str(node.data / "uploads")
    assert abs(ffprobe_duration(video) - 6.0) < 0.1

    # SIGTERM: everything it started is gone, and no temp file is left anywhere.
    assert node.stop() == 0, node.output()
    assert marked_processes(node.marker) == []
    leftovers = [os.path.join(d, f) for d, _, files in os.walk(node.data) for f in files
                 if "-temp-" in f or f.endswith(".tmp")]
    assert leftovers == []
    for service in ("restreamer", "downloader", "backfiller", "segment_coverage", "cutter",
                    "editor", "demo_origin"):
        assert (node.data / "logs" / f"{service}.log").stat().st_size > 0, service
    # The demo origin's ffmpeg output lives in a temporary directory, removed on stop.
    origin_log = (node.data / "logs" / "demo_origin.log").read_text()
    # It stops after the downloader, whose in-flight segments finish rather than wait out its
    # stop timeout retrying against an origin that is gone.
    downloader_log = (node.data / "logs" / "downloader.log").read_text()
    stopped = re.search(r"^(\S+ \S+) .* downloader: stopped$", downloader_log, re.M)
    stopping = re.search(r"^(\S+ \S+) .* demo_origin: stopping$", origin_log, re.M)
    assert stopped and stopping and stopped.group(1) <= stopping.group(1), (stopped, stopping)
    assert "still running after" not in downloader_log
    origin_dirs = re.findall(r"ffmpeg output in (\S+?)\)", origin_log)
    assert origin_dirs and not any(os.path.exists(d) for d in origin_dirs)
