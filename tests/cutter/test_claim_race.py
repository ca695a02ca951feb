"""The claim against a concurrent writer of the same row, in real Postgres (in-process)."""

import logging

import gevent
import prometheus_client

from common import database
from cutter import jobs
from cutter.config import Location
from cutter.worker import Cutter
from cutter_testing import T0, seconds, wait_for


def candidate(conn, event_id):
    rows = [r._asdict() for r in database.query(conn, jobs.CANDIDATES_SQL, locations=["archive"],
                                                name="node1")]
    return next(r for r in rows if r["id"] == event_id)


def conflicts():
    return prometheus_client.REGISTRY.get_sample_value(
        "cutter_claim_conflicts_total", {"location": "archive"}) or 0


def test_claim_racing_a_concurrent_claim_is_a_lost_claim_not_an_error(events, db_dsn, tmp_path):
    event_id = events.create_edited(T0, T0 + seconds(2))
    db = database.DBManager(db_dsn)
    cutter = Cutter("node1", db, str(tmp_path), {}, gevent.event.Event())
    cutter.conn = db.get_conn()
    row = candidate(cutter.conn, event_id)
    location = Location("archive", None, None, 60.0)
    other = db.get_conn()
    before = conflicts()
    # Another cutter's claim of the same row, not yet committed: ours waits for it, then the
    # server aborts ours (SERIALIZABLE) instead of updating nothing.
    with database.transaction(other) as cur:
        cur.execute("UPDATE events SET state = 'CLAIMED', uploader = 'node2' WHERE id = %s",
                    (event_id,))
        job = gevent.spawn(cutter.claim, row, location)
        wait_for(lambda: database.query(events.conn, """
            SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
              AND datname = current_database()""").fetchone(),
                 message="our claim to wait for the other one")
    assert job.get(timeout=10) is False
    assert conflicts() == before + 1
    row = events.get(event_id)
    assert (row.state, row.uploader) == ("CLAIMED", "node2")
    for conn in (cutter.conn, other):
        conn.close()


def test_recovery_keeps_the_error_that_says_why_an_upload_is_unknown(events, db_dsn, tmp_path):
    known = events.create_edited(T0, T0 + seconds(2))
    crashed = events.create_edited(T0, T0 + seconds(2))
    why = "upload to youtube may or may not have happened (YouTube answered 503)"
    database.query(events.conn, "UPDATE events SET state = 'FINALIZING', uploader = 'node1', "
                                "error = %s WHERE id = %s", why, known)
    database.query(events.conn, "UPDATE events SET state = 'FINALIZING', uploader = 'node1' "
                                "WHERE id = %s", crashed)
    db = database.DBManager(db_dsn)
    cutter = Cutter("node1", db, str(tmp_path), {}, gevent.event.Event())
    cutter.conn = db.get_conn()
    for _ in range(2):  # at start-up, and again after a reconnection
        cutter.recover()
    assert events.get(known).error == why
    assert events.get(crashed).error == jobs.recovery_message("node1")
    cutter.conn.close()


def test_an_outcome_update_racing_an_operator_is_a_retried_conflict(events, db_dsn, tmp_path,
                                                                   caplog):
    """A serialization failure is a conflict to retry on the same connection, not a database
    outage: no error logged, no reconnection, the outcome recorded."""
    caplog.set_level(logging.INFO)
    event_id = events.create_edited(T0, T0 + seconds(2))
    database.query(events.conn, "UPDATE events SET state = 'FINALIZING', uploader = 'node1' "
                                "WHERE id = %s", event_id)
    db = database.DBManager(db_dsn)
    cutter = Cutter("node1", db, str(tmp_path), {}, gevent.event.Event())
    cutter.conn = conn = db.get_conn()
    other = db.get_conn()
    retried = prometheus_client.REGISTRY.get_sample_value(
        "database_transaction_retries_total", {"reason": "serialization_failure"}) or 0
    with database.transaction(other) as cur:  # an operator's note, committed while we wait
        cur.execute("UPDATE events SET error = 'looked at it' WHERE id = %s", (event_id,))
        job = gevent.spawn(cutter._write, jobs.UPLOADED_SQL, id=event_id, me="node1",
                           state="DONE", video_id="v1", link="https://v/1", now=T0)
        wait_for(lambda: database.query(events.conn, """
            SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
              AND datname = current_database()""").fetchone(),
                 message="our update to wait for the operator's")
    assert job.get(timeout=10) == 1
    assert events.get(event_id).state == "DONE"
    assert cutter.conn is conn  # kept: nothing was wrong with it
    assert prometheus_client.REGISTRY.get_sample_value(
        "database_transaction_retries_total", {"reason": "serialization_failure"}) == retried + 1
    assert "conflicted with a concurrent change (serialization_failure); retrying" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    for c in (conn, other):
        c.close()
