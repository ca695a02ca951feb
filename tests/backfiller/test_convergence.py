"""Nodes converge on the union of their archives, through real restreamers and the real CLI."""

import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import requests

from common.database import DBManager, query
from common.dateutil import utcnow
from common.segments import get_best_segments
from support.archive import build_archive
from support.waiting import free_port


TWO = timedelta(seconds=2)


def build_node(base, start, holes_source, holes_480p, types=None):
    build_archive(base, "stream", "source", start, 100, skip=holes_source, types=types or {},
                  real=False)
    build_archive(base, "stream", "480p", start, 100, skip=holes_480p, real=False)


def best(base, variant, start, end):
    segments = get_best_segments(os.path.join(base, "stream", variant), start, end)
    return [None if s is None else (s.start, s.duration, s.type, s.hash) for s in segments]


def test_three_nodes_converge_on_the_union(tmp_path, restreamers, archive_files):
    # 100 segments from 1 min before an hour boundary, so each archive spans two hours.
    start = (utcnow() - timedelta(hours=3)).replace(minute=59, second=0, microsecond=0)
    bases = [tmp_path / name for name in ("a", "b", "c")]
    everyone_lacks = {95}
    # Only a has segment 50, and only as a partial: it is copied (nobody has a full there).
    build_node(bases[0], start, set(range(0, 10)) | everyone_lacks, {1, 2, 3} | everyone_lacks,
               types={50: "partial"})
    build_node(bases[1], start, set(range(10, 21)) | {50} | everyone_lacks, {40} | everyone_lacks)
    build_node(bases[2], start, set(range(30, 41)) | set(range(80, 90)) | {50} | everyone_lacks,
               {1, 2, 3, 40, 60} | everyone_lacks)
    before = [archive_files(b) for b in bases]
    union = {}
    for files in before:
        union.update(files)
    assert all(len(files) < len(union) for files in before)

    servers = restreamers(*bases)
    runs = [subprocess.Popen(
        [sys.executable, "-m", "backfiller", "--base-dir", str(base), "--run-once",
         "--localhost", name, "--recent-cutoff", "0"]
        + [arg for s in servers for arg in ("--node", s.url)]
        + ["--node", f"http://{name}:8000"],  # this node itself: left out by --localhost
        stderr=subprocess.PIPE, text=True) for base, name in zip(bases, "abc")]
    for run in runs:
        _, err = run.communicate(timeout=60)
        assert run.returncode == 0, err

    for base in bases:
        assert archive_files(base) == union  # same names, same bytes
    for variant in ("source", "480p"):
        answers = [best(b, variant, start, start + 100 * TWO) for b in bases]
        assert answers[0] == answers[1] == answers[2]
        assert len([s for s in answers[0] if s is not None]) == 99  # all but 95
    assert ("partial" in {s[2] for s in best(bases[1], "source", start, start + 100 * TWO)
                          if s is not None})


def test_down_and_hanging_peers_do_not_stop_the_pass(tmp_path, restreamers, run_backfiller,
                                                      archive_files, down_peer_url,
                                                      hanging_peer_url):
    start = utcnow() - timedelta(hours=2)
    build_archive(tmp_path / "peer", "stream", "source", start, 20, real=False)
    [server] = restreamers(tmp_path / "peer")
    run = run_backfiller(tmp_path / "local", [down_peer_url, hanging_peer_url, server.url],
                         "--timeout", "1", timeout=30)
    assert run.returncode == 1  # some peers failed...
    assert "Connection refused" in run.stderr and "timed out" in run.stderr
    assert "Traceback" not in run.stderr
    # ...but everything the healthy one had arrived.
    assert archive_files(tmp_path / "local") == archive_files(tmp_path / "peer")


def test_cli_exit_status_is_zero_when_complete(tmp_path, restreamers, run_backfiller):
    build_archive(tmp_path / "peer", "stream", "source", utcnow() - timedelta(hours=2), 3,
                  real=False)
    [server] = restreamers(tmp_path / "peer")
    first = run_backfiller(tmp_path / "local", [server.url])
    assert first.returncode == 0, first.stderr
    assert "fetched 3 segments" in first.stderr
    again = run_backfiller(tmp_path / "local", [server.url])
    assert again.returncode == 0 and "fetched 0 segments" in again.stderr


def test_node_added_to_the_database_is_used_at_the_next_refresh(tmp_path, db_dsn, restreamers,
                                                                archive_files, wait_until):
    start = utcnow() - timedelta(minutes=10)
    build_archive(tmp_path / "peer", "stream", "source", start, 5, real=False)
    [server] = restreamers(tmp_path / "peer")
    metrics_port = free_port()
    local = tmp_path / "local"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "backfiller", "--base-dir", str(local), "--database", db_dsn,
         "--localhost", "me", "--node-refresh", "0.3", "--pass-interval", "0.3",
         "--recent-cutoff", "0", "--metrics-port", str(metrics_port)],
        stderr=subprocess.PIPE, text=True)
    try:
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        wait_until(lambda: _get(metrics_url) and "backfiller_peers 0.0" in _get(metrics_url),
                   message="daemon up with no peers")
        assert not os.path.exists(local / "stream")

        conn = DBManager(db_dsn).get_conn()  # applies the schema (if the daemon has not yet)
        query(conn, "INSERT INTO nodes (name, url) VALUES ('peer1', %s), ('me', %s)",
              server.url, "http://127.0.0.1:1")
        conn.close()
        wait_until(lambda: archive_files(local) == archive_files(tmp_path / "peer"),
                   message="segments from the peer added to the nodes table")

        # A segment the peer gets later arrives on a later (recent) pass.
        build_archive(tmp_path / "peer", "stream", "source", start + 5 * TWO, 1, real=False)
        wait_until(lambda: archive_files(local) == archive_files(tmp_path / "peer"),
                   message="a later segment")
        text = _get(metrics_url)
        assert 'backfiller_segments_backfilled_total{peer="peer1"} 6.0' in text
        assert "backfiller_peers 1.0" in text

        # A row switched off is dropped at the next refresh.
        conn = DBManager(db_dsn).get_conn()
        query(conn, "UPDATE nodes SET backfill_from = false WHERE name = 'peer1'")
        conn.close()
        wait_until(lambda: "backfiller_peers 0.0" in _get(metrics_url),
                   message="peer dropped after backfill_from = false")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=15)
    assert daemon.returncode == 0, err
    assert "stopped" in err


def _get(url):
    try:
        return requests.get(url, timeout=2).text
    except requests.ConnectionError:
        return ""


@pytest.mark.parametrize("args, message", [
    ([], "no peers"),
    (["--node", "ftp://x"], "bad peer URL"),
    (["--node", "http://x", "--start", "yesterday"], "--start"),
    (["--node", "http://x", "--concurrency", "0"], "at least 1"),
    (["--node-file", "/nonexistent/nodes.txt"], "--node-file"),
    (["--database", "host=127.0.0.1 port=1 user=x", "--run-once"], "cannot read the peer list"),
    (["--database", "not a dsn"], "--database: bad DSN"),
    # Numbers too large for datetime arithmetic are usage errors, not tracebacks.
    (["--node", "http://x", "--start", "99999999999999"], "--start"),
    (["--node", "http://x", "--delete-older-than", "inf"], "--delete-older-than"),
    (["--node", "http://x", "--recent-cutoff", "1e300"], "--recent-cutoff"),
    (["--node", "http://x", "--recent-hours", "99999999"], "--recent-hours"),
    (["--node", "http://x", "--metrics-port", "99999"], "--metrics-port"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, message):
    run = subprocess.run([sys.executable, "-m", "backfiller", "--base-dir", str(tmp_path)]
                         + args, capture_output=True, text=True, timeout=30)
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "--start: --start" not in run.stderr


def test_help_describes_the_flags():
    run = subprocess.run([sys.executable, "-m", "backfiller", "--help"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0
    for flag in ("--base-dir", "--stream", "--variants", "--node", "--node-file", "--database",
                 "--localhost", "--start", "--recent-cutoff", "--run-once",
                 "--delete-older-than", "--metrics-port"):
        assert flag in run.stdout
