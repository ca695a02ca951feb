"""Helpers for the editor tests: its real app on a real HTTP server (in this process, port 0),
a real restreamer over a real-video archive, real Postgres; clients are `requests` sessions.
(Imported by name: conftest.py puts this directory on sys.path.)

Fixtures (also for the browser tests):
  archive         BASE with STREAM/VARIANT (and STREAM/VARIANT2): 24 s of real video from T0
  restreamer      a restreamer serving `archive`: .url
  editor_factory  editor_factory(**Config overrides) -> EditorServer (stopped at teardown)
  editor          editor_factory() with accounts: LOCATIONS, the restreamer, accounts on
  users           users.add(name, admin=False) -> token (in the editor's database)
  shared_editor, shared_alice, shared_db   the same, once per test module
"""

from datetime import datetime, timedelta

import pytest
import requests

from common import database
from common.http_server import make_server
from editor import accounts
from editor.app import Config, create_app
from editor.pool import ConnectionPool
from support.archive import build_archive

T0 = datetime(2026, 11, 27, 10, 0, 0)
STREAM, VARIANT, VARIANT2 = "main", "source", "480p"
LOCATIONS = ["archive", "youtube"]
SEGMENTS = 12


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    base = tmp_path_factory.mktemp("editor-archive") / "segments"
    for variant in (VARIANT, VARIANT2):
        build_archive(str(base), STREAM, variant, T0, SEGMENTS)
    return base


class Server:
    """A WSGI app on 127.0.0.1, port chosen by the OS, in this (gevent) process."""

    def __init__(self, app, service):
        self.server = make_server(app, "127.0.0.1", 0, service=service)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self):
        self.server.drain(timeout=5)  # idle keep-alive connections are closed at once


@pytest.fixture(scope="session")
def restreamer(archive):
    from restreamer.app import Config as RestreamerConfig, create_app as restreamer_app
    server = Server(restreamer_app(RestreamerConfig(str(archive))), "restreamer")
    yield server
    server.stop()


class EditorServer(Server):
    def __init__(self, dsn, config):
        self.config = config
        self.pool = ConnectionPool(database.DBManager(dsn))
        super().__init__(create_app(config, self.pool), "editor")

    def client(self):
        return ApiClient(self.url)

    def stop(self):
        super().stop()
        self.pool.close()


class ApiClient(requests.Session):
    """A browser's view: keeps the cookie, sends the CSRF token with writes (csrf=False: not).
    Requests return the response; nothing raises for a status."""

    def __init__(self, url):
        super().__init__()
        self.base = url
        self.csrf = None

    def request(self, method, path, *args, csrf=True, **kwargs):
        headers = kwargs.pop("headers", None) or {}
        if csrf and self.csrf and method.upper() != "GET":
            headers.setdefault("X-CSRF-Token", self.csrf)
        kwargs.setdefault("timeout", 30)
        return super().request(method, self.base + path, *args, headers=headers, **kwargs)

    def sign_in(self, token):
        response = self.post("/api/session", json={"token": token})
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf"]
        return response

    def event(self, event_id):
        response = self.get(f"/api/events/{event_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def create(self, **fields):
        fields.setdefault("event_start", iso(T0))
        response = self.post("/api/events", json=fields)
        assert response.status_code == 201, response.text
        return response.json()


def iso(dt):
    return dt.isoformat(timespec="milliseconds") + "Z"


class Users:
    def __init__(self, dsn):
        self.conn = database.DBManager(dsn).get_conn()

    def add(self, name, admin=False):
        return accounts.add_user(self.conn, name, admin)

    def client(self, editor, name, admin=False):
        client = editor.client()
        client.sign_in(self.add(name, admin))
        return client


@pytest.fixture
def users(db_dsn):
    u = Users(db_dsn)
    yield u
    u.conn.close()


@pytest.fixture
def editor_factory(db_dsn, restreamer):
    started = []

    def start(**overrides):
        options = dict(restreamer_urls=[restreamer.url], locations=LOCATIONS)
        options.update(overrides)
        server = EditorServer(db_dsn, Config(**options))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def editor(editor_factory):
    return editor_factory()


@pytest.fixture(scope="module")
def shared_db(postgres_server):
    """One database for a whole module (for many small tests that each make their own
    events: a database per test costs a second or more)."""
    from support.postgres import throwaway_database
    with throwaway_database(postgres_server) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def shared_editor(shared_db, restreamer):
    server = EditorServer(shared_db, Config(restreamer_urls=[restreamer.url],
                                            locations=LOCATIONS))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_alice(shared_editor, shared_db):
    """A signed-in (non-admin) editor of shared_editor."""
    users = Users(shared_db)
    client = users.client(shared_editor, "alice")
    users.conn.close()
    return client


def good_edit(start=T0 + timedelta(seconds=4), seconds=6, **changes):
    """A complete edit of the archive's footage, as the page sends it."""
    fields = dict(video_start=iso(start), video_end=iso(start + timedelta(seconds=seconds)),
                  video_title="A highlight", video_description="What happened",
                  video_stream=STREAM, video_variant=VARIANT, upload_location="archive",
                  video_tags=["charity"], cut_type=None, allow_holes=False,
                  uploader_whitelist=None)
    fields.update(changes)
    return fields
