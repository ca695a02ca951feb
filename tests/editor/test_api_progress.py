"""A cutter's job progress in the editor's event JSON: shown on GET, and never a change of
the event's version (a save made before the progress moved is no conflict)."""

import re
from datetime import timedelta

from common import database
from common.events import progress as event_progress
from editor_testing import T0

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_progress_shows_without_touching_the_version(editor, users, db_dsn):
    alice = users.client(editor, "alice")
    event, other = alice.create(), alice.create()
    assert alice.event(event["id"])["progress"] is None
    conn = database.DBManager(db_dsn).get_conn()
    try:
        event_progress.record(conn, event["id"], "node-a", "upload", 42.5,
                              T0, T0 + timedelta(seconds=90))
    finally:
        conn.close()

    shown = alice.event(event["id"])
    assert shown["version"] == event["version"]
    progress = shown["progress"]
    assert (progress["phase"], progress["percent"], progress["uploader"]) == \
        ("upload", 42.5, "node-a")
    assert ISO_MS.match(progress["started"]) and progress["updated"].startswith(
        (T0 + timedelta(seconds=90)).isoformat())
    listed = {e["id"]: e["progress"] for e in alice.get("/api/events").json()["events"]}
    assert listed[event["id"]] == progress and listed[other["id"]] is None
    # The editor's conflict check does not fire on progress.
    saved = alice.put(f"/api/events/{event['id']}",
                      json={"version": event["version"], "notes": "still mine"})
    assert saved.status_code == 200, saved.text
