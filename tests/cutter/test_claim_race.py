"""The claim against a concurrent writer of the same row, in real Postgres (in-process)."""

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
