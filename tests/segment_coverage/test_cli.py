"""The command line: --help, bad input, --run-once, and the daemon (metrics, clean stop)."""

import os
import signal
import subprocess
import sys
import time

import requests

from support.waiting import free_port


def _run(args, cwd, timeout=60):
    return subprocess.run([sys.executable, "-m", "segment_coverage", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_help(tmp_path):
    result = _run(["--help"], tmp_path)
    assert result.returncode == 0
    for flag in ("--base-dir", "--stream", "--variants", "--check-interval", "--node",
                 "--database", "--run-once", "--metrics-port", "BASE/.coverage/"):
        assert flag in result.stdout


def test_bad_input_is_a_one_line_error(tmp_path):
    for args, message in [
        (["--base-dir", str(tmp_path / "nope"), "--run-once"], "is not a directory"),
        (["--base-dir", str(tmp_path), "--check-interval", "0"], "must be more than 0"),
        (["--base-dir", str(tmp_path), "--map-hours", "x"], "not a number"),
        (["--base-dir", str(tmp_path), "--stream", "..", "--run-once"], "bad stream name"),
        (["--base-dir", str(tmp_path), "--stream", "a/b", "--run-once"], "bad stream name"),
        (["--base-dir", str(tmp_path), "--database", "nonsense=1 =", "--run-once"],
         "cannot use --database"),
    ]:
        result = _run(args, tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_run_once_writes_the_outputs(archive, tmp_path):
    result = _run(["--base-dir", archive, "--run-once", "--node", "http://peer:8000"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = os.path.join(archive, ".coverage")
    assert sorted(os.listdir(out)) == ["index.html", "s-v.json", "s-v.png"]
    assert "http://peer:8000/coverage/s-v.png" in open(os.path.join(out, "index.html")).read()
    assert "s/v: " in result.stderr  # the per-variant log line


def test_daemon_serves_metrics_and_stops_on_sigterm(archive, tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "segment_coverage", "--base-dir", archive,
         "--check-interval", "0.3", "--metrics-port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        holes = None
        while time.monotonic() < deadline:
            try:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.ConnectionError:
                text = ""
            if 'segment_coverage_hour_scans_total{result="reused",stream="s",variant="v"} ' \
                    in text and "reused\",stream=\"s\",variant=\"v\"} 0.0" not in text:
                holes = [line for line in text.splitlines() if line.startswith(
                    'segment_coverage_holes{hours="all",stream="s",variant="v"}')]
                break
            time.sleep(0.05)
        assert holes == ['segment_coverage_holes{hours="all",stream="s",variant="v"} 4.0']
        assert os.path.exists(os.path.join(archive, ".coverage", "index.html"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_once_fails_cleanly_when_outputs_cannot_be_written(archive, tmp_path):
    open(os.path.join(archive, ".coverage"), "w").close()  # a file where the directory goes
    result = _run(["--base-dir", archive, "--run-once"], tmp_path)
    assert result.returncode == 1
    assert "checking s/v failed" in result.stderr
    assert "cannot write the coverage page" in result.stderr
    assert "Traceback" not in result.stderr
