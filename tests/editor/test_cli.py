"""`python -m editor` as a real process: users add/list/remove, start-up checks, serving and a
clean stop on SIGTERM."""

import hashlib
import re
import signal
import subprocess
import sys

import requests

from common import database
from support.waiting import wait_for


def run(*argv, ok=True):
    result = subprocess.run([sys.executable, "-m", "editor", *map(str, argv)],
                            capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result


def test_users_add_list_remove(db_dsn, restreamer):
    added = run("users", "add", "alice", "--admin", "--database", db_dsn)
    token = added.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), added.stdout
    assert "shown only now" in added.stderr
    run("users", "add", "bob", "--database", db_dsn)
    conn = database.DBManager(db_dsn).get_conn()
    stored = database.query(conn, "SELECT name, token_hash, admin FROM editor_users ORDER BY name"
                            ).fetchall()
    assert [(r.name, r.admin) for r in stored] == [("alice", True), ("bob", False)]
    assert stored[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(stored)

    listing = run("users", "list", "--database", db_dsn).stdout.splitlines()
    assert listing[0].split() == ["NAME", "ADMIN", "CREATED", "SESSIONS"]
    assert [line.split()[:2] for line in listing[1:]] == [["alice", "yes"], ["bob", "no"]]

    # A signed-in session ends with its account.
    database.query(conn, "INSERT INTO editor_sessions (id_hash, editor, csrf, created, expires) "
                         "VALUES ('h', 'alice', 'c', now(), now() + interval '1 day')")
    assert run("users", "list", "--database", db_dsn).stdout.splitlines()[1].split()[-1] == "1"
    removed = run("users", "remove", "alice", "--database", db_dsn)
    assert "alice removed" in removed.stdout
    assert database.query(conn, "SELECT count(*) FROM editor_sessions").fetchone()[0] == 0
    assert [line.split()[0] for line in
            run("users", "list", "--database", db_dsn).stdout.splitlines()[1:]] == ["bob"]


def test_users_refusals(db_dsn):
    run("users", "add", "bob", "--database", db_dsn)
    for argv, message in [
        (["users", "add", "bob"], "already"),
        (["users", "add", "bad name"], "bad user name 'bad name'"),
        (["users", "add", "-x"], "the following arguments are required: NAME"),
        (["users", "remove", "carol"], "no user 'carol'"),
    ]:
        assert message in run(*argv, "--database", db_dsn, ok=False).stderr, argv
    assert "required: COMMAND" in run("users", ok=False).stderr


def test_users_needs_a_database(monkeypatch):
    monkeypatch.delenv("EDITOR_DATABASE", raising=False)
    assert "no database" in run("users", "list", ok=False).stderr
    result = run("users", "list", "--database", "host=127.0.0.1 port=1 dbname=x", ok=False)
    assert "cannot connect" in result.stderr


def test_bad_start_up_options_are_one_line_errors(db_dsn):
    base = ["--database", db_dsn, "--restreamer-url", "http://127.0.0.1:1",
            "--location", "archive"]
    for argv, message in [
        (["--no-auth", "--host", "0.0.0.0"], "--no-auth lets anyone"),
        (["--no-auth", "--host", "192.0.2.1"], "needs a loopback --host"),
        (["--max-cut-duration", "0"], "must be positive"),
        (["--port", "70000"], "not a TCP port"),
    ]:
        assert message in run(*base, *argv, ok=False).stderr, argv


def test_restreamer_and_location_are_required(db_dsn):
    assert "--restreamer-url" in run("--database", db_dsn, "--location", "a", ok=False).stderr
    assert "--location" in run("--database", db_dsn, "--restreamer-url", "http://x",
                               ok=False).stderr


def test_serves_and_stops_cleanly(db_dsn, restreamer):
    proc = subprocess.Popen(
        [sys.executable, "-m", "editor", "--database", db_dsn, "--restreamer-url", restreamer.url,
         "--location", "archive", "--host", "127.0.0.1", "--port", "0", "--no-auth"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines = []

        def port():
            line = proc.stderr.readline()
            lines.append(line)
            match = re.search(r"serving the editor on http://127\.0\.0\.1:(\d+)/", line)
            return match and int(match.group(1)) or (not line and "exited")
        found = wait_for(port, timeout=30, message="the editor to start")
        assert found != "exited", lines
        url = f"http://127.0.0.1:{found}"
        assert requests.get(f"{url}/api/session", timeout=10).json()["editor"] == "anonymous"
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
