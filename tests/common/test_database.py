import socket

import gevent
import gevent.event
import psycopg2
import psycopg2.errors
import pytest
from prometheus_client import REGISTRY

from common.database import (DBManager, DatabaseUnavailable, query, retrying,
                             run_transaction, transaction)

RAISE = "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{}'; END $$"


def retries_count(reason):
    return REGISTRY.get_sample_value("database_transaction_retries_total",
                                     {"reason": reason}) or 0


@pytest.fixture
def conn(db_dsn):
    conn = DBManager(db_dsn, schema=False).get_conn()
    yield conn
    conn.close()


def test_connections_are_autocommit_serializable_with_named_rows(db_dsn):
    conn = DBManager(db_dsn).get_conn()
    assert conn.autocommit
    assert query(conn, "SHOW transaction_isolation").fetchone()[0] == "serializable"
    with transaction(conn) as cur:
        cur.execute("SHOW transaction_isolation")
        assert cur.fetchone()[0] == "serializable"
        cur.execute("SELECT txid_current_if_assigned() IS NULL AS fresh, 2 AS two")
        row = cur.fetchone()
        assert row.two == 2 and row[1] == 2
    # Autocommit: a write is visible to another connection without any commit call.
    query(conn, "INSERT INTO nodes (name, url) VALUES (%s, %s)", "a", "http://a")
    other = DBManager(db_dsn, schema=False).get_conn()
    assert query(other, "SELECT url FROM nodes WHERE name = %(name)s",
                 name="a").fetchone().url == "http://a"
    with pytest.raises(TypeError):
        query(conn, "SELECT %s, %(x)s", 1, x=2)


def tables(conn):
    return {r.table_name for r in query(conn, "SELECT table_name FROM information_schema.tables"
                                              " WHERE table_schema = 'public'")}


def test_packaged_schema_applies_twice_and_concurrently(db_dsn):
    first = DBManager(db_dsn).get_conn()
    assert {"events", "nodes"} <= tables(first)
    query(first, "INSERT INTO nodes (name, url) VALUES ('keep', 'http://x')")
    # Again, and from several services starting at once: all succeed, nothing is lost.
    managers = [DBManager(db_dsn) for _ in range(6)]
    with gevent.Timeout(20):
        conns = gevent.joinall([gevent.spawn(m.get_conn) for m in managers], raise_error=True)
    assert all(m.schema_applied for m in managers)
    assert query(conns[0].value, "SELECT url FROM nodes").fetchall() == [("http://x",)]


def test_packaged_schema_applies_concurrently_on_a_fresh_database(db_dsn):
    managers = [DBManager(db_dsn) for _ in range(5)]
    with gevent.Timeout(20):
        conns = gevent.joinall([gevent.spawn(m.get_conn) for m in managers], raise_error=True)
    assert {"events", "nodes"} <= tables(conns[-1].value)


def test_schema_applications_never_overlap(db_dsn):
    # Each application logs when it ran; under the advisory lock the intervals are disjoint.
    setup = DBManager(db_dsn, schema=False).get_conn()
    query(setup, "CREATE TABLE runs (pid INT, started TIMESTAMPTZ, finished TIMESTAMPTZ)")
    schema = """
        INSERT INTO runs VALUES (pg_backend_pid(), clock_timestamp(), NULL);
        SELECT pg_sleep(0.05);
        UPDATE runs SET finished = clock_timestamp() WHERE pid = pg_backend_pid();
    """
    managers = [DBManager(db_dsn, schema=schema) for _ in range(5)]
    with gevent.Timeout(20):
        gevent.joinall([gevent.spawn(m.get_conn) for m in managers], raise_error=True)
    runs = query(setup, "SELECT started, finished FROM runs ORDER BY started").fetchall()
    assert len(runs) == 5
    for before, after in zip(runs, runs[1:]):
        assert before.finished < after.started
    # Once per manager: more connections do not re-apply it.
    managers[0].get_conn()
    assert query(setup, "SELECT count(*) FROM runs").fetchone()[0] == 5


def test_racing_read_modify_write_one_wins_and_the_loser_is_retried(db_dsn):
    manager = DBManager(db_dsn, schema=False)
    setup = manager.get_conn()
    query(setup, "CREATE TABLE counter (id INT PRIMARY KEY, value INT NOT NULL)")
    query(setup, "INSERT INTO counter VALUES (1, 0)")
    has_read = [gevent.event.Event(), gevent.event.Event()]
    calls = [0, 0]

    def increment(me):
        def work(cur):
            calls[me] += 1
            cur.execute("SELECT value FROM counter WHERE id = 1")
            value = cur.fetchone().value
            if calls[me] == 1:  # first attempts: both read before either writes
                has_read[me].set()
                assert has_read[1 - me].wait(5)
            cur.execute("UPDATE counter SET value = %s WHERE id = 1", (value + 1,))
            return value + 1
        return run_transaction(manager.get_conn(), work)

    before = retries_count("serialization_failure")
    with gevent.Timeout(15):
        results = gevent.joinall([gevent.spawn(increment, i) for i in (0, 1)],
                                 raise_error=True)
    assert sorted(g.value for g in results) == [1, 2]  # one winner, the loser re-read
    assert query(setup, "SELECT value FROM counter").fetchone()[0] == 2
    assert sorted(calls) == [1, 2]
    assert retries_count("serialization_failure") == before + 1


def test_write_skew_is_caught_at_commit_and_retried_with_the_loop_form(db_dsn):
    # On-call rule: at least one doctor on call. Each transaction sees two on call and takes
    # a different one off: only serial execution keeps the rule.
    manager = DBManager(db_dsn, schema=False)
    setup = manager.get_conn()
    query(setup, "CREATE TABLE doctors (name TEXT PRIMARY KEY, on_call BOOL NOT NULL)")
    query(setup, "INSERT INTO doctors VALUES ('alice', true), ('bob', true)")
    has_read = {"alice": gevent.event.Event(), "bob": gevent.event.Event()}
    attempts = {"alice": 0, "bob": 0}

    def go_off_call(name, other):
        conn = manager.get_conn()
        for attempt in retrying(conn):
            with attempt as cur:
                attempts[name] += 1
                cur.execute("SELECT count(*) FROM doctors WHERE on_call")
                on_call = cur.fetchone()[0]
                if attempts[name] == 1:
                    has_read[name].set()
                    assert has_read[other].wait(5)
                if on_call >= 2:
                    cur.execute("UPDATE doctors SET on_call = false WHERE name = %s", (name,))

    with gevent.Timeout(15):
        gevent.joinall([gevent.spawn(go_off_call, "alice", "bob"),
                        gevent.spawn(go_off_call, "bob", "alice")], raise_error=True)
    assert query(setup, "SELECT count(*) FROM doctors WHERE on_call").fetchone()[0] == 1
    # The winner commits first time; the loser is retried (more than once if it retries while
    # the winner has not committed yet, which a loaded machine makes likely).
    first, second = sorted(attempts.values())
    assert first == 1 and second >= 2


@pytest.mark.parametrize("code, reason", [("40001", "serialization_failure"),
                                          ("40P01", "deadlock")])
def test_conflicts_are_retried_a_bounded_number_of_times(conn, code, reason):
    query(conn, "CREATE TABLE log (n INT)")
    calls = []

    def always_conflicts(cur):
        calls.append(1)
        cur.execute("INSERT INTO log VALUES (1)")
        cur.execute(RAISE.format(code))

    before = retries_count(reason)
    with pytest.raises(psycopg2.Error) as info:
        run_transaction(conn, always_conflicts, retries=2, backoff=0.001)
    assert info.value.pgcode == code
    assert len(calls) == 3 and retries_count(reason) == before + 2
    assert query(conn, "SELECT count(*) FROM log").fetchone()[0] == 0  # all rolled back


def test_other_errors_roll_back_and_propagate_at_once(conn):
    query(conn, "CREATE TABLE log (n INT PRIMARY KEY)")
    calls = []

    def fails(cur):
        calls.append(1)
        cur.execute("INSERT INTO log VALUES (1)")
        raise KeyError("not a database problem")

    with pytest.raises(KeyError):
        run_transaction(conn, fails)
    with pytest.raises(psycopg2.errors.UniqueViolation):
        run_transaction(conn, lambda cur: cur.execute("INSERT INTO log VALUES (2), (2)"))
    assert len(calls) == 1
    assert query(conn, "SELECT count(*) FROM log").fetchone()[0] == 0
    assert run_transaction(conn, lambda cur: cur.execute("INSERT INTO log VALUES (3)")) is None
    assert query(conn, "SELECT n FROM log").fetchall() == [(3,)]


def test_a_swallowed_statement_error_is_not_reported_as_committed(conn):
    query(conn, "CREATE TABLE log (n INT PRIMARY KEY)")
    with pytest.raises(psycopg2.InternalError, match="rolled back"):
        with transaction(conn) as cur:
            cur.execute("INSERT INTO log VALUES (1)")
            try:
                cur.execute("SELECT 1 / 0")
            except psycopg2.errors.DivisionByZero:
                pass
    assert query(conn, "SELECT count(*) FROM log").fetchone()[0] == 0


def test_queries_let_other_greenlets_run(conn):
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    g = gevent.spawn(ticker)
    try:
        query(conn, "SELECT pg_sleep(0.3)")
        during = len(ticks)
    finally:
        g.kill()
    assert during >= 5


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("dsn", [
    "host=127.0.0.1 port={port} dbname=archive user=bob password=sekrit",
    "postgresql://bob:sekrit@127.0.0.1:{port}/archive",
])
def test_unreachable_database_is_a_clear_error_without_the_password(dsn):
    with pytest.raises(DatabaseUnavailable) as info:
        DBManager(dsn.format(port=closed_port())).get_conn()
    message = str(info.value)
    assert "127.0.0.1" in message and "'archive'" in message and "refused" in message
    assert "sekrit" not in message
    # libpq's hint stays a sentence of its own on the one line.
    assert "\n" not in message and "refused; Is the server running" in message


def test_silent_server_times_out_quickly():
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        with gevent.Timeout(10):
            with pytest.raises(DatabaseUnavailable, match="no answer within 0.5s"):
                DBManager(f"host=127.0.0.1 port={port} dbname=x", connect_timeout=0.5) \
                    .get_conn()


def test_bad_dsn_is_a_value_error():
    with pytest.raises(ValueError, match="bad database DSN"):
        DBManager("this is not a dsn")
