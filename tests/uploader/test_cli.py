"""The operator CLI against real Postgres: every documented transition, refusals of the rest."""

import json
import os
import subprocess
import sys

import pytest

from common import database
from uploader import cli

START = "2026-11-27T12:00:00"


class CLI:
    def __init__(self, dsn, capsys):
        self.dsn, self.capsys = dsn, capsys

    def __call__(self, *argv, ok=True):
        self.capsys.readouterr()
        try:
            code = cli.main(["--database", self.dsn] + [str(a) for a in argv])
        except SystemExit as e:
            code = e.code
        out, err = self.capsys.readouterr()
        assert (code == 0) == ok, (argv, code, out, err)
        if not ok:
            assert "Traceback" not in err and err.startswith("error: "), err
            assert len(err.strip().splitlines()) == 1, err
            return err
        return out

    def show(self, event_id):
        return json.loads(self("events", "show", event_id, "--json"))

    def set_state(self, event_id, state, **values):
        """What a cutter would do (the CLI has no command for cutter steps)."""
        conn = database.DBManager(self.dsn).get_conn()
        values = dict(values, state=state)
        database.query(conn, "UPDATE events SET " + ", ".join(f"{k} = %({k})s" for k in values)
                       + " WHERE id = %(id)s", id=event_id, **values)
        conn.close()


@pytest.fixture
def run(db_dsn, capsys):
    return CLI(db_dsn, capsys)


def edit_args(event_id, **overrides):
    args = dict(video_start="2026-11-27T12:00:05", video_end="2026-11-27T12:00:09Z",
                title="A title", description="Words", stream="main", location="archive")
    args.update(overrides)
    argv = ["events", "edit", event_id]
    for key, value in args.items():
        argv += ["--" + key.replace("_", "-"), value]
    return argv


def new_event(run):
    return run("events", "create", "--event-start", START, "--description", "thing").strip()


def test_create_edit_show_list(run):
    event_id = new_event(run)
    assert run.show(event_id)["state"] == "UNEDITED"
    run(*edit_args(event_id[:8]), "--tags", "a,b", "--whitelist", "n1,n2", "--cut-type", "full")
    row = run.show(event_id)
    assert row["state"] == "EDITED"
    assert row["video_start"] == "2026-11-27T12:00:05"
    assert row["video_end"] == "2026-11-27T12:00:09"
    assert row["video_tags"] == ["a", "b"] and row["uploader_whitelist"] == ["n1", "n2"]
    assert row["cut_type"] == "full" and row["editor"] and row["edit_time"]
    # Re-edit of one field keeps the rest; --any-cutter/--default-cut-type clear.
    run("events", "edit", event_id, "--title", "New", "--any-cutter", "--default-cut-type")
    row = run.show(event_id)
    assert (row["video_title"], row["video_description"]) == ("New", "Words")
    assert row["uploader_whitelist"] is None and row["cut_type"] is None
    listed = run("events", "list", "--state", "EDITED")
    assert event_id in listed and "New" in listed
    assert event_id not in run("events", "list", "--state", "DONE")


def test_invalid_edit_is_refused_and_changes_nothing(run):
    event_id = new_event(run)
    err = run(*edit_args(event_id, video_end="2026-11-27T12:00:01"), ok=False)
    assert "must be after video_start" in err
    err = run("events", "edit", event_id, "--title", "only a title", ok=False)
    assert "video_start is required" in err and "upload_location is required" in err
    assert run.show(event_id)["state"] == "UNEDITED"
    assert "not an ISO 8601" in run(*edit_args(event_id, video_start="noon"), ok=False)


def test_the_editor_pages_limits_apply_to_the_cli_too(run):
    event_id = new_event(run)
    err = run(*edit_args(event_id, title="<b>bold</b>", description="\u00e9" * 2501), ok=False)
    assert "video_title must not contain < or >" in err
    assert "video_description is 5002 bytes, more than 5000" in err
    assert "more than 100" in run(*edit_args(event_id, title="x" * 101), ok=False)
    assert "501 characters in all" in run(*edit_args(event_id), "--tags",
                                          "a" * 250 + "," + "b" * 250, ok=False)
    assert "must be after event_start" in run(
        "events", "create", "--event-start", START, "--event-end", START, ok=False)
    assert run.show(event_id)["state"] == "UNEDITED"


def test_every_change_records_who_and_bumps_the_version(run):
    event_id = new_event(run)
    assert run.show(event_id)["version"] == 1
    run(*edit_args(event_id), "--editor", "ed")
    row = run.show(event_id)
    assert (row["editor"], row["version"]) == ("ed", 2)
    run("events", "cancel", event_id, "--editor", "carol")
    row = run.show(event_id)
    assert (row["state"], row["editor"], row["version"]) == ("UNEDITED", "carol", 3)
    assert row["edit_time"] and row["modified_time"]


def test_cancel_and_re_edit_of_a_claimed_event(run):
    event_id = new_event(run)
    run(*edit_args(event_id))
    run.set_state(event_id, "CLAIMED", uploader="node1")
    out = run(*edit_args(event_id, title="Changed"))
    assert "CLAIMED -> EDITED" in out
    row = run.show(event_id)
    assert row["state"] == "EDITED" and row["uploader"] is None
    run("events", "cancel", event_id)
    assert run.show(event_id)["state"] == "UNEDITED"
    run(*edit_args(event_id))
    run.set_state(event_id, "CLAIMED", uploader="node1")
    run("events", "cancel", event_id)
    row = run.show(event_id)
    assert row["state"] == "UNEDITED" and row["uploader"] is None


def test_reset_and_retry_of_finalizing(run):
    event_id = new_event(run)
    run(*edit_args(event_id))
    run.set_state(event_id, "FINALIZING", uploader="node1", error="check it")
    assert "cannot edit an event in state FINALIZING" in run(*edit_args(event_id), ok=False)
    assert "cannot cancel" in run("events", "cancel", event_id, ok=False)
    run("events", "reset", event_id, "--retry")
    row = run.show(event_id)
    assert row["state"] == "EDITED" and row["uploader"] is None and row["error"] is None
    run.set_state(event_id, "FINALIZING", uploader="node1", error="check it")
    assert "FINALIZING -> UNEDITED" in run("events", "reset", event_id)
    row = run.show(event_id)
    assert row["state"] == "UNEDITED" and row["uploader"] is None and row["error"] is None
    run(*edit_args(event_id))
    run.set_state(event_id, "TRANSCODING", uploader="node1", video_id="v",
                  video_link="http://v")
    assert "cannot retry" in run("events", "reset", event_id, "--retry", ok=False)
    run("events", "reset", event_id)
    row = run.show(event_id)
    assert row["state"] == "UNEDITED" and row["video_link"] == "http://v"


def test_manual_link(run):
    event_id = new_event(run)
    run("manual-link", event_id, "https://videos.example/abc", "--video-id", "abc")
    row = run.show(event_id)
    assert row["state"] == "DONE" and row["upload_location"] == "manual"
    assert row["video_link"] == "https://videos.example/abc" and row["video_id"] == "abc"
    assert row["upload_time"] and row["uploader"] is None
    for argv in (["manual-link", event_id, "https://other"], ["events", "cancel", event_id],
                 edit_args(event_id), ["events", "reset", event_id]):
        assert "in state DONE" in run(*argv, ok=False)
    other = new_event(run)
    assert "not a URL" in run("manual-link", other, "just words", ok=False)
    run(*edit_args(other))
    assert "cannot manual-link an event in state EDITED" in run(
        "manual-link", other, "https://x", ok=False)


def test_manual_link_settles_a_finalizing_event(run):
    # The operator checked the upload location and found the video the cutter's upload made.
    event_id = new_event(run)
    run(*edit_args(event_id))
    run.set_state(event_id, "FINALIZING", uploader="node1", error="check it")
    out = run("manual-link", event_id, "https://videos.example/found", "--video-id", "found")
    assert out.startswith(f"event {event_id}: FINALIZING -> DONE, link https://videos.example/")
    assert "no cutter will upload this event again" in out
    row = run.show(event_id)
    assert (row["state"], row["video_link"], row["video_id"]) == (
        "DONE", "https://videos.example/found", "found")
    assert row["error"] is None and row["uploader"] is None
    assert row["video_title"] == "A title"  # the edit stays on record
    claimed = new_event(run)
    run(*edit_args(claimed))
    run.set_state(claimed, "CLAIMED", uploader="node1")
    assert "cannot manual-link an event in state CLAIMED" in run(
        "manual-link", claimed, "https://x", ok=False)


def test_unknown_and_ambiguous_ids(run):
    # list and show only read (a read-only role can use them): they create no table.
    assert "this database has no events table" in run("events", "list", ok=False)
    new_event(run)
    assert "no event" in run("events", "show", "00000000-0000-0000-0000-000000000000", ok=False)
    assert "not an event id" in run("events", "cancel", "xyz!", ok=False)
    # Too short to be a prefix: the message says how much of the id it takes.
    assert "4 or more of its first characters" in run("events", "show", "6", ok=False)
    assert "--limit" in run("events", "list", "--limit", "-1", ok=False)


def test_show_on_a_database_from_before_the_progress_table(run):
    """`events show` applies no schema (a read-only role can use it): on a database whose schema
    predates event_progress it shows the event, without progress."""
    event_id = new_event(run)
    conn = database.DBManager(run.dsn).get_conn()
    database.query(conn, "DROP TABLE event_progress")
    conn.close()
    assert run.show(event_id)["progress"] is None
    shown = run("events", "show", event_id)
    assert "thing" in shown and "progress:" not in shown


def test_real_entry_point_errors_in_one_line(db_dsn, tmp_path):
    def uploader(*argv):
        return subprocess.run([sys.executable, "-m", "uploader", *argv], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    result = uploader("--database", db_dsn, "events", "create", "--event-start", START)
    assert result.returncode == 0, result.stderr
    event_id = result.stdout.strip()
    result = uploader("--database", db_dsn, "events", "reset", event_id)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: event {event_id}: cannot reset an event in state UNEDITED: reset is for an "
        "upload whose fate an operator has checked (allowed from FINALIZING, TRANSCODING)")
    result = uploader("--database", "host=127.0.0.1 port=1 user=nobody connect_timeout=2",
                      "events", "list")
    assert result.returncode == 2 and "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr
    env = dict(os.environ)
    env.pop("UPLOADER_DATABASE", None)
    result = subprocess.run([sys.executable, "-m", "uploader", "events", "list"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "no database" in result.stderr
