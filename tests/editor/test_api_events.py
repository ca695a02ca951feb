"""/api/config and /api/events over real HTTP, real Postgres and a real restreamer: every route,
every 4xx rule, versions and conflicts, and the admin-only actions."""

import re
from datetime import timedelta

import pytest

from common import database
from editor_testing import LOCATIONS, STREAM, T0, VARIANT, VARIANT2, good_edit, iso

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def alice(editor, users):
    return users.client(editor, "alice")


@pytest.fixture
def admin(editor, users):
    return users.client(editor, "root", admin=True)


@pytest.fixture
def conn(db_dsn):
    connection = database.DBManager(db_dsn).get_conn()
    yield connection
    connection.close()


def set_state(conn, event_id, state, **values):
    """What a cutter does (through the trigger, so `version` moves as for the real one)."""
    values = dict(values, state=state)
    database.query(conn, "UPDATE events SET " + ", ".join(f"{k} = %({k})s" for k in values)
                   + " WHERE id = %(id)s", id=event_id, **values)


def test_config_lists_what_the_restreamer_has(editor, alice, restreamer):
    config = alice.get("/api/config").json()
    assert config == {
        "streams": {STREAM: sorted([VARIANT, VARIANT2])},
        "streams_error": None,
        "locations": LOCATIONS,
        "cut_types": ["rough", "fast", "full"],
        "restreamer_url": restreamer.url,
        "restreamer_urls": [restreamer.url],
        "max_cut_duration": 6 * 3600.0,
        "limits": {"title_max_chars": 100, "title_forbidden": "<>",
                   "description_max_bytes": 5000, "tags_max_chars": 500},
    }


def test_config_merges_restreamers_and_survives_a_dead_one(editor_factory, users, restreamer):
    from support.waiting import free_port
    dead = f"http://127.0.0.1:{free_port()}"
    editor = editor_factory(restreamer_urls=[dead, restreamer.url])
    config = users.client(editor, "alice").get("/api/config").json()
    assert config["streams"] == {STREAM: sorted([VARIANT, VARIANT2])}
    assert config["restreamer_url"] == dead and config["restreamer_urls"][1] == restreamer.url


def test_no_restreamer_answering_means_no_streams_and_no_submit(editor_factory, users):
    from support.waiting import free_port
    editor = editor_factory(restreamer_urls=[f"http://127.0.0.1:{free_port()}"])
    client = users.client(editor, "alice")
    config = client.get("/api/config").json()
    assert config["streams"] == {} and "no restreamer answered" in config["streams_error"]
    event = client.create()
    response = client.put(f"/api/events/{event['id']}",
                          json=dict(good_edit(), version=1, submit=True))
    assert response.status_code == 503
    assert "no restreamer answered" in response.json()["error"]
    # A draft does not need the restreamers.
    response = client.put(f"/api/events/{event['id']}", json=dict(good_edit(), version=1))
    assert response.status_code == 200, response.text


def test_create_get_and_the_json_of_an_event(shared_alice):
    response = shared_alice.post("/api/events", json={
        "event_start": "2026-11-27T10:00:01.5Z", "event_end": "2026-11-27T10:00:20+00:00",
        "category": "speedrun", "description": "the big moment", "notes": "check audio"})
    assert response.status_code == 201
    event = response.json()
    assert response.headers["Location"] == f"/api/events/{event['id']}"
    assert shared_alice.event(event["id"]) == event
    assert event["event_start"] == "2026-11-27T10:00:01.500Z"
    assert event["event_end"] == "2026-11-27T10:00:20.000Z"
    assert event["state"] == "UNEDITED" and event["version"] == 1
    assert event["editor"] == "alice" and ISO_MS.match(event["edit_time"])
    assert (event["category"], event["description"], event["notes"]) == (
        "speedrun", "the big moment", "check audio")
    # Every column of the table, plus version, plus the cutter's progress (none here).
    assert event["progress"] is None
    assert set(event) - {"progress"} == {
        "id", "state", "event_start", "event_end", "category", "description", "notes",
        "upload_location", "video_start", "video_end", "video_title", "video_description",
        "video_tags", "video_stream", "video_variant", "cut_type", "allow_holes",
        "uploader_whitelist", "uploader", "error", "video_id", "video_link", "editor",
        "edit_time", "upload_time", "modified_time", "version"}


@pytest.mark.parametrize("body,reason", [
    ({}, "event_start is required"),
    ({"event_start": None}, "event_start must not be null"),
    ({"event_start": "yesterday"}, "bad event_start: not a UTC ISO 8601 timestamp"),
    ({"event_start": "2026-11-27T12:00:00+02:00"}, "bad event_start: not a UTC"),
    ({"event_start": "2026-02-30T12:00:00Z"}, "bad event_start: not a valid time"),
    ({"event_start": 1700000000}, "event_start must be a UTC ISO 8601 time string"),
    ({"event_start": iso(T0), "event_end": iso(T0)}, "event_end (2026-11-27 10:00:00) must be "
                                                     "after event_start"),
    ({"event_start": iso(T0), "description": 5}, "description must be a string"),
    ({"event_start": iso(T0), "notes": "a\x00b"}, "notes contains a NUL character"),
    ({"event_start": iso(T0), "video_title": "x"}, "field not accepted here: 'video_title'"),
    ({"event_start": iso(T0), "colour": "red"}, "unknown field 'colour'"),
    ({"event_start": iso(T0), "state": "DONE"}, "read-only field 'state'"),
])
def test_create_refusals(shared_alice, body, reason):
    before = shared_alice.get("/api/events?limit=1000").json()["events"]
    response = shared_alice.post("/api/events", json=body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert "\n" not in response.json()["error"]
    assert shared_alice.get("/api/events?limit=1000").json()["events"] == before


def test_unknown_ids_are_404(shared_alice):
    for path in ("/api/events/00000000-0000-0000-0000-000000000000", "/api/events/nope",
                 "/api/events/00000000"):
        response = shared_alice.get(path)
        assert response.status_code == 404
        assert "no event" in response.json()["error"]
    missing = "/api/events/00000000-0000-0000-0000-000000000000"
    for method, path, body in [("PUT", missing, {"version": 1}),
                               ("POST", missing + "/cancel", {"version": 1})]:
        assert shared_alice.request(method, path, json=body).status_code == 404
    assert shared_alice.get("/api/nothing").status_code == 404


def test_list_newest_first_filtered_and_searched(alice, conn):
    made = [alice.create(event_start=iso(T0 + timedelta(minutes=i)), description=f"event {i}")
            for i in range(5)]
    alice.put(f"/api/events/{made[1]['id']}", json={"version": 1, "category": "Boss Fight"})
    alice.put(f"/api/events/{made[2]['id']}", json={"version": 1, "notes": "needs a BOSS cut"})
    alice.put(f"/api/events/{made[3]['id']}", json={"version": 1, "video_title": "Boss 100%"})
    set_state(conn, made[0]["id"], "EDITED", **{k: v for k, v in good_edit().items()
                                               if k.startswith("video_") and k != "video_tags"},
              upload_location="archive", editor="x", edit_time=T0)

    def ids(query=""):
        response = alice.get("/api/events" + query)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["events"]]

    assert ids() == [e["id"] for e in reversed(made)]
    assert ids("?limit=2") == [made[4]["id"], made[3]["id"]]
    assert ids("?state=EDITED") == [made[0]["id"]]
    assert ids("?state=UNEDITED&limit=1") == [made[4]["id"]]
    assert ids("?q=boss") == [made[3]["id"], made[2]["id"], made[1]["id"]]
    assert ids("?q=EVENT%204") == [made[4]["id"]]
    assert ids("?q=100%25") == [made[3]["id"]]  # % is literal, not a wildcard
    assert ids("?q=_") == []
    assert ids("?q=boss&state=DONE") == []
    for query, reason in [("?state=LOST", "bad state 'LOST'"), ("?limit=0", "bad limit 0"),
                          ("?limit=many", "bad limit 'many'"), ("?limit=1001", "bad limit"),
                          ("?q=" + "x" * 201, "at most 200 characters")]:
        response = alice.get("/api/events" + query)
        assert response.status_code == 400 and reason in response.json()["error"], query


def test_draft_then_submit(alice, conn):
    event = alice.create()
    edit = good_edit()
    response = alice.put(f"/api/events/{event['id']}",
                         json={"version": 1, "video_title": "Half done", "notes": "wip"})
    assert response.status_code == 200, response.text
    draft = response.json()
    assert (draft["state"], draft["video_title"], draft["notes"]) == ("UNEDITED", "Half done",
                                                                        "wip")
    assert draft["version"] == 2 and draft["editor"] == "alice"
    response = alice.put(f"/api/events/{event['id']}", json=dict(edit, version=2, submit=True))
    assert response.status_code == 200, response.text
    submitted = response.json()
    assert submitted["state"] == "EDITED" and submitted["version"] == 3
    for name, value in edit.items():
        assert submitted[name] == value, name
    row = database.query(conn, "SELECT * FROM events WHERE id = %s", event["id"]).fetchone()
    assert (row.state, row.video_start, row.video_end) == (
        "EDITED", T0 + timedelta(seconds=4), T0 + timedelta(seconds=10))
    assert (row.editor, row.version) == ("alice", 3)


def test_the_whole_form_sent_back_is_no_change_of_the_edit(shared_alice):
    """The page sends its whole form; on a submitted event only the moment's fields change."""
    event = shared_alice.create()
    submitted = shared_alice.put(f"/api/events/{event['id']}",
                          json=dict(good_edit(), version=1, submit=True)).json()
    response = shared_alice.put(f"/api/events/{event['id']}",
                         json=dict(good_edit(), version=submitted["version"], notes="more"))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "EDITED" and response.json()["notes"] == "more"
    # Nothing at all changed: nothing is written, the version stays.
    again = shared_alice.put(f"/api/events/{event['id']}",
                      json=dict(good_edit(), version=submitted["version"] + 1, notes="more"))
    assert again.json()["version"] == submitted["version"] + 1


def test_a_submitted_edit_changes_only_by_submitting(shared_alice):
    event = shared_alice.create()
    shared_alice.put(f"/api/events/{event['id']}", json=dict(good_edit(), version=1, submit=True))
    response = shared_alice.put(f"/api/events/{event['id']}",
                         json={"version": 2, "video_title": "Other"})
    assert response.status_code == 400
    assert "cannot draft an event in state EDITED" in response.json()["error"]
    response = shared_alice.put(f"/api/events/{event['id']}",
                         json={"version": 2, "video_title": "Other", "submit": True})
    assert response.status_code == 200 and response.json()["video_title"] == "Other"


LONG = T0 + timedelta(hours=6, milliseconds=1)


@pytest.mark.parametrize("changes,reason", [
    (dict(video_start="10:00"), "bad video_start: not a UTC ISO 8601 timestamp"),
    (dict(video_end="2026-11-27T10:00:10-05:00"), "bad video_end: not a UTC"),
    (dict(video_end=iso(T0 + timedelta(seconds=4))), "must be after video_start"),
    (dict(video_end=iso(T0 + timedelta(seconds=1))), "must be after video_start"),
    (dict(video_start=iso(T0), video_end=iso(LONG)), "is 6h0m0.001s, longer than the maximum 6h"),
    (dict(video_stream="other"), "unknown stream 'other'"),
    (dict(video_stream="../main"), "not a valid archive name"),
    (dict(video_variant="720p"), "stream 'main' has no variant '720p'"),
    (dict(upload_location="vimeo"), "unknown upload location 'vimeo'"),
    (dict(upload_location="manual"), "reserved for manual-link"),
    (dict(cut_type="slow"), "cut_type must be one of rough, fast, full"),
    (dict(video_title="x" * 101), "video_title is 101 characters, more than 100"),
    (dict(video_title="<script>"), "must not contain < or >"),
    (dict(video_title="a > b"), "must not contain < or >"),
    (dict(video_description="\u00e9" * 2501), "video_description is 5002 bytes, more than 5000"),
    (dict(video_tags=["a" * 300, "b" * 200]), "video_tags are 501 characters in all"),
    (dict(video_tags="a,b"), "video_tags must be a list of strings"),
    (dict(video_title=None), "video_title is required"),
    (dict(upload_location=None), "upload_location is required"),
    (dict(allow_holes="yes"), "allow_holes must be true or false"),
    (dict(video_variant=None), "video_variant must not be null"),
    (dict(state="EDITED"), "read-only field 'state'"),
    (dict(uploader="me"), "read-only field 'uploader'"),
    (dict(video_colour="red"), "unknown field 'video_colour'"),
    (dict(event_end=iso(T0 - timedelta(seconds=1))), "event_end (2026-11-27 09:59:59) must be after"),
    (dict(submit="yes"), "submit must be true or false"),
    (dict(version=None), "version is required"),
    (dict(version="1"), "version is required"),
])
def test_submit_refusals(shared_alice, changes, reason):
    event = shared_alice.create()
    body = dict(good_edit(), version=1, submit=True)
    body.update(changes)
    body = {k: v for k, v in body.items() if k != "version" or v is not None}
    response = shared_alice.put(f"/api/events/{event['id']}", json=body)
    assert response.status_code == 400, response.text
    assert reason in response.json()["error"]
    assert "\n" not in response.json()["error"]
    assert shared_alice.event(event["id"]) == event  # nothing written


def test_limits_are_inclusive(shared_alice):
    event = shared_alice.create()
    edit = good_edit(start=T0, seconds=6 * 3600, video_title="x" * 100,
                     video_description="\u00e9" * 2500, video_tags=["a" * 300, "b" * 199])
    response = shared_alice.put(f"/api/events/{event['id']}", json=dict(edit, version=1, submit=True))
    assert response.status_code == 200, response.text


def test_max_cut_duration_is_configurable(editor_factory, users):
    editor = editor_factory(max_cut_duration=timedelta(seconds=5))
    client = users.client(editor, "alice")
    event = client.create()
    response = client.put(f"/api/events/{event['id']}",
                          json=dict(good_edit(seconds=6), version=1, submit=True))
    assert response.status_code == 400
    assert "is 6s, longer than the maximum 5s" in response.json()["error"]


def test_two_editors_saving_the_same_event(editor, users, conn):
    alice, bob = users.client(editor, "alice"), users.client(editor, "bob")
    event = alice.create()
    seen_by_bob = bob.event(event["id"])
    response = alice.put(f"/api/events/{event['id']}",
                         json={"version": event["version"], "video_title": "Alice's"})
    assert response.status_code == 200
    saved = response.json()
    response = bob.put(f"/api/events/{event['id']}",
                       json={"version": seen_by_bob["version"], "video_title": "Bob's"})
    assert response.status_code == 409
    body = response.json()
    assert f"last edited by alice at {saved['edit_time']}" in body["error"]
    assert "your version 1, now 2" in body["error"]
    assert body["event"] == saved  # the event as it is now, for the page to show the difference
    row = database.query(conn, "SELECT video_title, version, editor FROM events").fetchone()
    assert row == ("Alice's", 2, "alice")
    # With the new version, bob's save goes through.
    response = bob.put(f"/api/events/{event['id']}",
                       json={"version": body["event"]["version"], "video_title": "Bob's"})
    assert response.status_code == 200 and response.json()["editor"] == "bob"


def test_a_cutter_moving_the_event_makes_an_old_version_stale(alice, conn):
    event = alice.create()
    submitted = alice.put(f"/api/events/{event['id']}",
                          json=dict(good_edit(), version=1, submit=True)).json()
    set_state(conn, event["id"], "CLAIMED", uploader="node-b")
    response = alice.post(f"/api/events/{event['id']}/cancel",
                          json={"version": submitted["version"]})
    assert response.status_code == 409
    assert "now CLAIMED (cutter node-b), last changed at" in response.json()["error"]
    assert database.query(conn, "SELECT state FROM events").fetchone()[0] == "CLAIMED"


def test_cancel(alice, conn):
    event = alice.create()
    response = alice.post(f"/api/events/{event['id']}/cancel", json={"version": 1})
    assert response.status_code == 400
    assert "cannot cancel an event in state UNEDITED" in response.json()["error"]
    submitted = alice.put(f"/api/events/{event['id']}",
                          json=dict(good_edit(), version=1, submit=True)).json()
    set_state(conn, event["id"], "CLAIMED", uploader="node-b")
    version = alice.event(event["id"])["version"]
    response = alice.post(f"/api/events/{event['id']}/cancel", json={"version": version})
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert (cancelled["state"], cancelled["uploader"]) == ("UNEDITED", None)
    assert cancelled["video_title"] == submitted["video_title"]  # the edit stays, as a draft
    assert cancelled["editor"] == "alice"
    assert alice.post(f"/api/events/{event['id']}/cancel", json={}).status_code == 400


def finalizing(client, conn):
    event = client.create()
    client.put(f"/api/events/{event['id']}", json=dict(good_edit(), version=1, submit=True))
    set_state(conn, event["id"], "FINALIZING", uploader="node-b", error="upload fate unknown")
    return client.event(event["id"])


def test_reset_and_retry_need_an_admin(alice, admin, conn):
    event = finalizing(alice, conn)
    path = f"/api/events/{event['id']}/reset"
    response = alice.post(path, json={"version": event["version"]})
    assert response.status_code == 403
    assert "only an admin" in response.json()["error"]
    assert alice.event(event["id"])["state"] == "FINALIZING"

    response = admin.post(path, json={"version": event["version"], "retry": True})
    assert response.status_code == 200, response.text
    retried = response.json()
    assert (retried["state"], retried["uploader"], retried["error"], retried["editor"]) == (
        "EDITED", None, None, "root")

    response = admin.post(path, json={"version": retried["version"]})
    assert response.status_code == 400
    assert "cannot reset an event in state EDITED" in response.json()["error"]

    set_state(conn, event["id"], "TRANSCODING", uploader="node-b", video_id="v1",
              video_link="http://videos/v1")
    version = admin.event(event["id"])["version"]
    response = admin.post(path, json={"version": version, "retry": True})
    assert response.status_code == 400 and "cannot retry" in response.json()["error"]
    response = admin.post(path, json={"version": version})
    assert response.status_code == 200 and response.json()["state"] == "UNEDITED"


def test_manual_link_needs_an_admin(alice, admin):
    event = alice.create()
    path = f"/api/events/{event['id']}/manual-link"
    response = alice.post(path, json={"version": 1, "link": "https://videos/1"})
    assert response.status_code == 403
    for body, reason in [({"version": 1, "link": "not a url"}, "not a URL"),
                         ({"version": 1}, "not a URL"),
                         ({"version": 1, "link": "https://x/1", "video_id": 7}, "video_id must")]:
        response = admin.post(path, json=body)
        assert response.status_code == 400 and reason in response.json()["error"]
    response = admin.post(path, json={"version": 1, "link": "https://videos/1", "video_id": "1"})
    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["state"], done["upload_location"], done["video_link"], done["video_id"]) == (
        "DONE", "manual", "https://videos/1", "1")
    assert done["editor"] == "root" and ISO_MS.match(done["upload_time"])
    response = admin.post(path, json={"version": done["version"], "link": "https://videos/2"})
    assert response.status_code == 400
    assert "cannot manual-link an event in state DONE" in response.json()["error"]
    response = alice.put(f"/api/events/{event['id']}",
                         json=dict(good_edit(), version=done["version"], submit=True))
    assert response.status_code == 400
    assert "cannot edit an event in state DONE" in response.json()["error"]


def test_times_keep_milliseconds_and_microseconds_are_no_change(alice, conn):
    event = alice.create()
    edit = good_edit(video_start="2026-11-27T10:00:04.033Z", video_end="2026-11-27T10:00:09.967")
    saved = alice.put(f"/api/events/{event['id']}", json=dict(edit, version=1)).json()
    assert (saved["video_start"], saved["video_end"]) == ("2026-11-27T10:00:04.033Z",
                                                          "2026-11-27T10:00:09.967Z")
    # An operator stored microseconds; the page sends back what it was shown.
    database.query(conn, "UPDATE events SET video_start = video_start + interval '400 us'")
    version = alice.event(event["id"])["version"]
    again = alice.put(f"/api/events/{event['id']}", json=dict(edit, version=version)).json()
    assert again["version"] == version


def test_metrics_have_bounded_labels(editor, alice):
    event = alice.create()
    alice.get(f"/api/events/{event['id']}")
    alice.put(f"/api/events/{event['id']}", json={"version": 5, "notes": "stale"})
    metrics = alice.get("/metrics")
    text = metrics.text
    from prometheus_client import CONTENT_TYPE_LATEST  # as it is: no second "; charset=utf-8"
    assert metrics.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert event["id"] not in text
    assert 'editor_http_requests_total{endpoint="events.get_event",method="GET",status="200"}' \
        in text
    assert 'editor_event_changes_total{action="save",result="conflict"}' in text
    assert 'editor_sign_ins_total{result="ok"}' in text
