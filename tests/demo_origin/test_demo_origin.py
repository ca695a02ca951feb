"""The built-in demo origin (run-local's stream): live 2-variant HLS, captured by the downloader,
clean stop."""

import signal
import socket
import subprocess
import sys

import requests

from support.hls_origin import archived
from support.waiting import wait_for
from support.waiting import free_port, stop_process as stop


def test_demo_origin_serves_live_stream_the_downloader_captures(tmp_path):
    port = free_port()
    out = tmp_path / "demo"
    demo = subprocess.Popen([sys.executable, "-m", "demo_origin", "--port", str(port),
        "--dir", str(out), "--segment-duration", "1"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    base = str(tmp_path / "archive")
    downloader = None
    try:
        url = f"http://127.0.0.1:{port}/master.m3u8"

        def master():
            try:
                resp = requests.get(url, timeout=2)
            except requests.ConnectionError:
                return None
            return resp.text if resp.status_code == 200 else None

        text = wait_for(master, 20, "the demo master playlist")
        assert text.count("#EXT-X-STREAM-INF") == 2 and "RESOLUTION=640x360" in text
        media = requests.get(f"http://127.0.0.1:{port}/v0/index.m3u8", timeout=2)
        assert "#EXT-X-PROGRAM-DATE-TIME" in media.text
        assert media.headers["Cache-Control"] == "no-cache"
        for bad in ("/v0/%00", "/..%2f..%2fetc/passwd", "/%2e%2e/%2e%2e/etc/passwd"):
            assert requests.get(f"http://127.0.0.1:{port}{bad}", timeout=2).status_code in (
                400, 404)
        downloader = subprocess.Popen([sys.executable, "-m", "downloader", "--stream", "demo",
            url, "--base-dir", base, "--qualities", "all", "--metrics-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for variant in ("source", "180p"):
            wait_for(lambda: [s for s in archived(base, "demo", variant) if s.type == "full"],
                15, f"demo {variant} segments")
    finally:
        if downloader is not None:
            code, output = stop(downloader)
            assert code == 0, output[-2000:]
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=15)
    assert demo.returncode == 0, output[-2000:]
    assert "Traceback" not in output
    assert not any(p.poll() is None for p in [demo])


def test_demo_origin_port_in_use_is_one_line_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = subprocess.run([sys.executable, "-m", "demo_origin", "--port",
            str(busy.getsockname()[1])], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "cannot serve" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "demo_origin", "--port", "99999"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--port" in result.stderr and "99999" in result.stderr
    assert "Traceback" not in result.stderr
