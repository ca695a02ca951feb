"""/cut over HTTP with real clients: every cut type's duration and first frame, the full-cut
limit, clients that hang up mid-cut, and draining on SIGTERM."""

import json
import os
import socket
import subprocess
from datetime import datetime, timedelta

import gevent
import pytest
import requests

from support.archive import build_archive

T0 = datetime(2025, 3, 1, 12, 59, 56)
FPS = 30


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("cut-archive"))
    build_archive(base, "s", "v", T0, 30)  # one minute
    # A variant whose 4th segment never delivers its bytes (a FIFO nobody writes): a cut
    # through it runs until it is stopped.
    stuck = build_archive(base, "s", "stuck", T0, 6)
    os.unlink(stuck[3])
    os.mkfifo(stuck[3])
    return base


@pytest.fixture(scope="module")
def server(base, restreamer_factory):
    return restreamer_factory(base, "--max-concurrent-full-cuts", "1")


def query(start, end, **extra):
    params = {"start": start.isoformat() + "Z", "end": end.isoformat() + "Z", **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def probe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "format=duration,format_name:stream=codec_type,nb_read_frames", "-of", "json", path],
        capture_output=True, check=True).stdout
    info = json.loads(out)
    return info["format"], {s["codec_type"]: s for s in info["streams"]}


def first_frame_decodes(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "gray", "pipe:1"], capture_output=True, check=True).stdout
    return len(raw) == 320 * 240


@pytest.mark.parametrize("kind, ext", [("rough", "ts"), ("fast", "ts"), ("fast", "mp4"),
                                       ("full", "ts"), ("full", "mp4")])
def test_cut_types(server, tmp_path, kind, ext):
    start, end = T0 + timedelta(seconds=5.5), T0 + timedelta(seconds=12.2)
    response = server.get(f"/cut/s/v.{ext}?{query(start, end, type=kind)}")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == {"ts": "video/MP2T", "mp4": "video/mp4"}[ext]
    path = tmp_path / f"cut.{ext}"
    path.write_bytes(response.content)
    fmt, streams = probe(str(path))
    assert ("mpegts" if ext == "ts" else "mp4") in fmt["format_name"]
    frames = int(streams["video"]["nb_read_frames"])
    wanted = (end - start).total_seconds() * FPS
    if kind == "rough":
        assert wanted <= frames <= wanted + 2 * 2 * FPS  # whole segments: up to one more each end
    else:
        assert abs(frames - wanted) <= 1
    assert "audio" in streams
    assert first_frame_decodes(str(path))


def _started(server, kind, container):
    metric = f'cuts_started_total{{container="{container}",type="{kind}"}} '
    for line in server.get("/metrics").text.splitlines():
        if line.startswith(metric):
            return float(line.split()[-1])
    return 0.0


def test_head_runs_no_cut(server):
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=20)
    before = _started(server, "fast", "mp4")
    response = server.session.head(server.url(f"/cut/s/v.mp4?{query(start, end, type='fast')}"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert _started(server, "fast", "mp4") == before
    assert server.get(f"/cut/s/v.mp4?{query(start, end, type='fast')}").status_code == 200
    assert _started(server, "fast", "mp4") == before + 1


def test_cut_with_holes_allowed(tmp_path, restreamer_factory, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("holey"))
    build_archive(base, "s", "v", T0, 6, skip=(2,))
    server = restreamer_factory(base)
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=11)
    assert server.get(f"/cut/s/v.ts?{query(start, end)}").status_code == 406
    response = server.get(f"/cut/s/v.ts?{query(start, end, allow_holes='true', type='fast')}")
    assert response.status_code == 200
    path = tmp_path / "holey.ts"
    path.write_bytes(response.content)
    _, streams = probe(str(path))
    assert abs(int(streams["video"]["nb_read_frames"]) - 8 * FPS) <= 1  # 10 s minus the hole


def _stalled_cut(server, path):
    """A request whose client never reads: the server's ffmpeg blocks on its full pipe."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def test_full_cut_limit_and_hang_ups(server, wait_for):
    start, end = T0, T0 + timedelta(seconds=58)
    path = f"/cut/s/v.ts?{query(start, end, type='full')}"
    stalled = _stalled_cut(server, path)
    try:
        wait_for(server.children, message="the full cut's ffmpeg to start")
        # The one allowed full cut is running: another is refused, other types are not.
        refused = server.get(path)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "too many full cuts" in refused.text
        rough = server.get(f"/cut/s/v.ts?{query(start, start + timedelta(seconds=4), type='rough')}")
        assert rough.status_code == 200
    finally:
        stalled.close()
    wait_for(lambda: not server.children(), message="ffmpeg to be stopped after the hang-up")
    wait_for(lambda: any("full cut s/v" in line and "stopped early" in line
                         for line in server.log), message="the cut to be logged as stopped")
    # The slot is free again.
    wait_for(lambda: "cuts_running{type=\"full\"} 0.0" in server.get("/metrics").text)
    short = server.get(f"/cut/s/v.ts?{query(start, start + timedelta(seconds=2), type='full')}")
    assert short.status_code == 200


@pytest.mark.parametrize("kind", ["fast", "full"])
def test_hang_up_while_an_mp4_is_spooled(server, wait_for, kind):
    # An MP4 sends nothing until ffmpeg is done (here: never, its input is stuck), so the
    # hang-up can only be noticed on the socket.
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=11)
    sock = _stalled_cut(server, f"/cut/s/stuck.mp4?{query(start, end, type=kind)}")
    try:
        # Wait until the segment reader is stuck opening the FIFO.
        wait_for(lambda: any(_wchan(pid) == "wait_for_partner"
                             for pid in _processes_mentioning("/s/stuck/")),
                 message="the cut to get stuck")
        assert any("ffmpeg" in _comm(pid) for pid in server.children())
    finally:
        sock.close()
    wait_for(lambda: not server.children(), timeout=10, message="ffmpeg to be stopped")
    wait_for(lambda: any(f"{kind} cut s/stuck" in line and "stopped early" in line
                         for line in server.log), message="the cut to be logged as stopped")
    assert any("client disconnected" in line for line in server.log)
    # Nor is anything left reading the archive (xargs' cat, stuck on the FIFO, included).
    wait_for(lambda: not _processes_mentioning("/s/stuck/"), message="cat to be stopped")


def _processes_mentioning(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def _wchan(pid):
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read()
    except OSError:
        return ""


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_sigterm_drains_in_flight_cut_then_exits_0(base, restreamer_factory, wait_for, tmp_path):
    server = restreamer_factory(base)
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=21)
    url = server.url(f"/cut/s/v.ts?{query(start, end, type='full')}")
    result = {}

    def fetch():
        response = requests.get(url, timeout=60)
        result["status"] = response.status_code
        result["body"] = response.content

    fetcher = gevent.spawn(fetch)
    wait_for(server.children, message="the cut to start")
    assert server.stop() == 0
    fetcher.join(timeout=30)
    assert result["status"] == 200
    path = tmp_path / "drained.ts"
    path.write_bytes(result["body"])
    _, streams = probe(str(path))
    assert abs(int(streams["video"]["nb_read_frames"]) - 20 * FPS) <= 1
    assert any("stopped" in line for line in server.log)
