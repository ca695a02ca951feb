"""The editor when Postgres goes away: a one-line 503, and working again as soon as the server
is back (no broken pooled connection is kept)."""

import gevent
import psycopg2
import requests

from common import database
from editor.app import Config, create_app
from editor.pool import ConnectionPool
from editor_testing import LOCATIONS, Server
from support.waiting import free_port


def test_connections_killed_by_a_server_restart_are_replaced(editor, users, db_dsn):
    client = users.client(editor, "alice")
    # Several requests at once, so the pool holds several connections.
    jobs = [gevent.spawn(client.get, "/api/events") for _ in range(4)]
    gevent.joinall(jobs)
    assert all(job.value.status_code == 200 for job in jobs)
    assert len(editor.pool._idle) >= 2
    admin = psycopg2.connect(db_dsn.rsplit("dbname=", 1)[0] + "dbname=postgres")
    admin.autocommit = True
    dbname = db_dsn.rsplit("dbname=", 1)[1]
    admin.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
    admin.close()
    statuses = [client.get("/api/events").status_code for _ in range(3)]
    # The first request may meet a dead connection (503); the next ones get new connections.
    assert statuses[0] in (200, 503) and statuses[1:] == [200, 200], statuses


def test_database_down_is_a_one_line_503(restreamer):
    dead = f"host=127.0.0.1 port={free_port()} user=postgres dbname=x"
    pool = ConnectionPool(database.DBManager(dead, connect_timeout=2))
    server = Server(create_app(Config([restreamer.url], LOCATIONS), pool), "editor")
    try:
        response = requests.get(server.url + "/api/session", timeout=30)
        assert response.status_code == 503
        reason = response.json()["error"]
        assert reason.startswith("database unavailable: cannot connect to database 'x'")
        assert "\n" not in reason
    finally:
        server.stop()
