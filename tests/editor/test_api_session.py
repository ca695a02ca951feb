"""Accounts, sign-in, sessions, CSRF and the sign-in limit, over real HTTP and Postgres."""

import hashlib

from common import database
from editor_testing import iso, T0


def test_sign_in_gives_a_strict_httponly_expiring_cookie(editor, users, db_dsn):
    token = users.add("alice")
    client = editor.client()
    response = client.post("/api/session", json={"token": token})
    assert response.status_code == 200
    body = response.json()
    assert body["editor"] == "alice" and body["admin"] is False and len(body["csrf"]) >= 32
    cookie = response.headers["Set-Cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("editor_session=")
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes
    assert "Max-Age=86400" in attributes and "Path=/" in attributes
    # Plain http here: Secure would make the browser drop it.
    assert "Secure" not in attributes
    assert client.get("/api/session").json() == body

    # Only hashes are stored: neither the token nor the cookie is in the database.
    secret = attributes[0].split("=", 1)[1]
    conn = database.DBManager(db_dsn).get_conn()
    dump = str(database.query(conn, "SELECT * FROM editor_users").fetchall()) + \
        str(database.query(conn, "SELECT * FROM editor_sessions").fetchall())
    assert token not in dump and secret not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump


def test_secure_cookie_when_asked(editor_factory, users):
    editor = editor_factory(secure_cookie=True)
    response = editor.client().post("/api/session", json={"token": users.add("alice")})
    assert "Secure" in [p.strip() for p in response.headers["Set-Cookie"].split(";")]


def test_unknown_token_is_401(editor, users):
    users.add("alice")
    client = editor.client()
    for body in ({"token": "nope"}, {"token": ""}, {"token": 5}, {}):
        response = client.post("/api/session", json=body)
        assert response.status_code == 401
        assert response.json() == {"error": "unknown token"}
        assert "Set-Cookie" not in response.headers


NO_ID = "00000000-0000-0000-0000-000000000000"
ROUTES = [("GET", "/api/session"), ("GET", "/api/config"), ("GET", "/api/events"),
          ("GET", f"/api/events/{NO_ID}"), ("POST", "/api/events"), ("PUT", f"/api/events/{NO_ID}"),
          ("POST", f"/api/events/{NO_ID}/cancel"), ("POST", f"/api/events/{NO_ID}/reset"),
          ("POST", f"/api/events/{NO_ID}/manual-link"), ("DELETE", "/api/session")]


def test_everything_needs_a_session(editor):
    client = editor.client()
    for method, path in ROUTES:
        response = client.request(method, path, json={"version": 1})
        assert response.status_code == 401, (method, path, response.text)
        assert response.json() == {"error": "not signed in"}


def test_a_forged_or_stale_cookie_is_not_a_session(editor, users, db_dsn):
    client = users.client(editor, "alice")
    forged = editor.client()
    forged.cookies.set("editor_session", "x" * 43)
    assert forged.get("/api/session").status_code == 401
    # An expired session stops working even though the browser still sends it.
    conn = database.DBManager(db_dsn).get_conn()
    database.query(conn, "UPDATE editor_sessions SET expires = created")
    assert client.get("/api/session").status_code == 401


def test_writes_need_the_csrf_header(editor, users, db_dsn):
    client = users.client(editor, "alice")
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        response = client.post("/api/events", json={"event_start": iso(T0)}, csrf=False,
                               headers=headers)
        assert response.status_code == 403, response.text
        assert "X-CSRF-Token" in response.json()["error"]
    conn = database.DBManager(db_dsn).get_conn()
    assert database.query(conn, "SELECT count(*) FROM events").fetchone()[0] == 0
    # Another session's token is not this session's.
    other = users.client(editor, "bob")
    response = client.post("/api/events", json={"event_start": iso(T0)}, csrf=False,
                           headers={"X-CSRF-Token": other.csrf})
    assert response.status_code == 403
    assert client.post("/api/events", json={"event_start": iso(T0)}).status_code == 201


def test_writes_need_a_json_body(editor, users):
    client = users.client(editor, "alice")
    response = client.post("/api/events", data="event_start=2026-11-27T10:00:00Z",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    response = client.post("/api/events", data="{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]
    response = client.post("/api/events", json=["a list"])
    assert response.status_code == 400 and "JSON object" in response.json()["error"]


def test_sign_out_ends_the_session(editor, users):
    client = users.client(editor, "alice")
    cookie = client.cookies.get("editor_session")
    response = client.delete("/api/session")
    assert response.status_code == 200
    assert client.get("/api/session").status_code == 401
    replay = editor.client()
    replay.cookies.set("editor_session", cookie)
    assert replay.get("/api/session").status_code == 401


def test_removing_a_user_ends_their_sessions(editor, users):
    from editor import accounts
    client = users.client(editor, "alice")
    accounts.remove_user(users.conn, "alice")
    assert client.get("/api/session").status_code == 401
    assert client.get("/api/events").status_code == 401


def test_five_failed_sign_ins_then_429(editor, users):
    token = users.add("alice")
    client = editor.client()
    for _ in range(5):
        assert client.post("/api/session", json={"token": "guess"}).status_code == 401
    response = client.post("/api/session", json={"token": "guess"})
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert "too many failed sign-ins" in response.json()["error"]
    # Even the right token waits: the limit is on attempts, not on wrong answers.
    assert client.post("/api/session", json={"token": token}).status_code == 429


def test_four_failures_do_not_lock_out(editor, users):
    token = users.add("alice")
    client = editor.client()
    for _ in range(4):
        assert client.post("/api/session", json={"token": "guess"}).status_code == 401
    assert client.post("/api/session", json={"token": token}).status_code == 200


def test_no_auth_is_one_anonymous_admin_still_with_csrf(editor_factory, db_dsn):
    editor = editor_factory(no_auth=True)
    client = editor.client()
    session = client.get("/api/session").json()
    assert session["editor"] == "anonymous" and session["admin"] is True
    assert client.post("/api/events", json={"event_start": iso(T0)}).status_code == 403
    client.csrf = session["csrf"]
    event = client.create()
    assert event["editor"] == "anonymous"
    assert client.post("/api/session", json={}).json()["editor"] == "anonymous"
