"""common.service: what every daemon does the same way."""

import argparse
import subprocess
import sys

import pytest
import requests

from common.service import HelpFormatter, add_common_args, one_line
from common.stats import serve_metrics
from support.waiting import free_port


def test_one_line_collapses_and_bounds_an_error_message():
    error = ValueError('relation "events" does not exist\nLINE 1: SELECT ...\n       ^\n')
    assert one_line(error) == 'relation "events" does not exist LINE 1: SELECT ... ^'
    assert one_line(KeyError()) == "KeyError"
    long = one_line(RuntimeError("x" * 1000))
    assert len(long) == 500 and long.endswith("...")
    assert one_line(RuntimeError("y" * 1000), limit=80) == "y" * 77 + "..."


def test_help_names_each_default_once():
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    parser.add_argument("--retries", type=int, default=3, help="attempts")
    parser.add_argument("--poll", type=float, help="seconds between polls (default 20, 5 if --fast)")
    parser.add_argument("--dir", help="where files go")
    parser.add_argument("--peer", action="append", default=[], help="a peer")
    parser.add_argument("--fast", action="store_true", help="poll more often")
    parser.add_argument("--hops", type=int, default=0, help="proxies in front")
    parser.add_argument("--notes", default="", help="free text")
    text = " ".join(parser.format_help().split())
    assert "attempts (default: 3)" in text
    assert "proxies in front (default: 0)" in text  # a zero is a value worth naming
    assert "(default 20, 5 if --fast) (default" not in text
    for unset in ("where files go (default", "a peer (default", "poll more often (default",
                  "free text (default"):
        assert unset not in text
    assert "(default: None)" not in text and "(default: [])" not in text


def test_metrics_host_defaults_to_every_address_and_can_be_loopback():
    parser = argparse.ArgumentParser()
    add_common_args(parser, metrics_port=8001)
    assert parser.parse_args([]).metrics_host == "0.0.0.0"  # compose: reachable by Prometheus
    args = parser.parse_args(["--metrics-host", "127.0.0.1", "--metrics-port", "0"])
    assert (args.metrics_host, args.metrics_port) == ("127.0.0.1", 0)
    server = serve_metrics(free_port(), args.metrics_host)
    try:
        assert server.address[0] == "127.0.0.1"
        body = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5).text
        assert "# HELP" in body
    finally:
        server.stop()


@pytest.mark.parametrize("service", ["downloader", "restreamer", "backfiller", "cutter",
                                     "segment_coverage", "demo_origin", "editor", "uploader"])
def test_bad_usage_is_one_line(service):
    result = subprocess.run([sys.executable, "-m", service, "--no-such-flag"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    # One line, not the whole usage text: what is wrong, and where to read more.
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: python -m {service}")
    assert "--help" in result.stderr and "Traceback" not in result.stderr
