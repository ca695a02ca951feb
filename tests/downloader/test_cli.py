"""The downloader as an operator runs it: CLI errors, metrics, SIGTERM, the Twitch path."""

import os
import subprocess
import sys

import requests

from common.segments import is_temp
from support.hls_origin import archived
from support.waiting import free_port, wait_for
from support.waiting import stop_process as stop

PYTHON = sys.executable


def run_cli(*args, timeout=30):
    return subprocess.run([PYTHON, "-m", "downloader", *args], capture_output=True, text=True,
        timeout=timeout)


def spawn(*args):
    return subprocess.Popen([PYTHON, "-m", "downloader", *args], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def test_help_explains_usage():
    result = run_cli("--help")
    assert result.returncode == 0
    for flag in ("--stream", "--base-dir", "--qualities", "--variant", "--suspect-after",
            "--twitch-auth-file", "--twitch-gql-url", "--twitch-usher-url", "--important",
            "--metrics-port", "--peer"):
        assert flag in result.stdout
    # What it does with the HLS features real servers use, and what it leaves out.
    text = " ".join(result.stdout.split())
    for words in ("no EXT-X-PROGRAM-DATE-TIME", "EXT-X-BYTERANGE", "HTTP Range", "AES-128",
                  "once per key URI", "SAMPLE-AES", "downloader_unrecordable_segments_total",
                  "audio-LANGUAGE", "EXT-X-GAP segments are not fetched",
                  "subtitles renditions are not recorded"):
        assert words in text, words


def test_bad_input_is_a_one_line_error(tmp_path):
    for args, words in [
        (("bad/channel", "--base-dir", str(tmp_path)), "channel name"),
        (("--stream", "x", "not-a-url", "--base-dir", str(tmp_path)), "URL"),
        (("--stream", ".hidden", "http://127.0.0.1:1/m.m3u8", "--base-dir", str(tmp_path)),
            "--stream"),
        (("chan", "--base-dir", str(tmp_path), "--twitch-auth-file", str(tmp_path / "nope")),
            "--twitch-auth-file"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert words in result.stderr and result.stderr.count("\n") == 1
    # Seconds must be positive and finite: a negative master age would refetch the master and
    # replace every worker in a loop, a NaN suspect limit would never mark anything suspect.
    for flag, value, words in [("--suspect-after", "nan", "want a positive number"),
            ("--master-max-age", "-1", "want a positive number"),
            ("--offline-poll-interval", "0", "want a positive number"),
            ("--retry-deadline", "inf", "want a positive number"),
            ("--metrics-port", "99999", "not a TCP port")]:
        result = run_cli("chan", "--base-dir", str(tmp_path), flag, value)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"argument {flag}: {words}" in result.stderr.splitlines()[-1]


def test_sigterm_finishes_in_flight_segment_and_leaves_no_temp(hls_origin, channel, tmp_path):
    base = str(tmp_path / "archive")
    port = free_port()
    seq = hls_origin.next_seq() + 1
    channel.slow_seconds = 2.5
    channel.fault(seq, "slow", variant=0)
    proc = spawn("--stream", "cli", channel.master_url, "--base-dir", base, "--qualities", "all",
        "--metrics-port", str(port))
    try:
        wait_for(lambda: any(r[0] == "segment" and r[2] == seq and r[5] == "slow"
            for r in channel.requests), 15, "the slow segment's transfer to start")
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'downloader_segments_downloaded_total{stream="cli",type="full",variant="source"}' \
            in metrics
        assert 'downloader_workers{stream="cli",variant="90p"} 1.0' in metrics
    finally:
        code, output = stop(proc)
    assert code == 0, output[-3000:]
    assert "Traceback" not in output
    names = [n for _, _, files in os.walk(base) for n in files]
    assert names and not [n for n in names if is_temp(n)]
    # The in-flight segment was allowed to finish.
    start = hls_origin.history[0][seq][0]
    assert [s for s in archived(base, "cli", "source") if s.start == start and s.type == "full"]


def test_twitch_channel_offline_then_live(hls_origin, channel, twitch_fake, tmp_path):
    base = str(tmp_path / "archive")
    auth = tmp_path / "auth"
    auth.write_text("OAuth sekrit123\n")
    twitch_fake.set_offline("fakechan")
    proc = spawn("FakeChan", "--base-dir", base, "--qualities", "source,90p15", "--metrics-port",
        "0", "--twitch-gql-url", twitch_fake.gql_url, "--twitch-usher-url", twitch_fake.usher_url,
        "--twitch-auth-file", str(auth), "--offline-poll-interval", "0.5")
    try:
        wait_for(lambda: sum(1 for r in twitch_fake.gql_requests if r[0] == "fakechan") >= 2, 15,
            "repeated token requests while offline")
        assert proc.poll() is None          # offline is not fatal
        assert not os.path.exists(os.path.join(base, "fakechan"))
        twitch_fake.add_channel("fakechan", channel)
        for variant in ("source", "90p15"):
            wait_for(lambda: [s for s in archived(base, "fakechan", variant) if s.type == "full"],
                15, f"{variant} segments from the Twitch channel")
    finally:
        code, output = stop(proc)
    assert code == 0, output[-3000:]
    assert all(r[1] == "OAuth sekrit123" for r in twitch_fake.gql_requests if r[0] == "fakechan")
    assert ("fakechan", 200) in twitch_fake.usher_requests
    # Twitch's PREFETCH entries are not segments.
    assert not [r for r in channel.requests if r[0] == "segment" and r[5] != "ok"]
