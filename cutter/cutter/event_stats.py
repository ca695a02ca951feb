"""Database-wide event figures for dashboards and alerts (prometheus/alerts.yml): events by
state, those with an error, and those in flight (CLAIMED, FINALIZING) for longer than their cut
and upload should take. Refreshed by a greenlet of its own, so that they stay current while the
cutter's loop is busy with a long job. Every cutter exports the same figures."""

import logging
from collections import Counter

from common.database import run_transaction
from common.events.progress import expected_duration
from common.events.states import CLAIMED, FINALIZING, STATES
from common.service import one_line

from . import metrics

log = logging.getLogger(__name__)

INTERVAL = 15.0
IN_FLIGHT = (CLAIMED, FINALIZING)

COUNTS_SQL = """
    SELECT state::text AS state, count(*) AS total, count(error) AS with_error
    FROM events GROUP BY state
"""
# A job's start is in its progress row (the cutter writes it when the job begins).
IN_FLIGHT_SQL = """
    SELECT e.state::text AS state, p.started,
        EXTRACT(EPOCH FROM e.video_end - e.video_start)::float AS video_seconds
    FROM events e JOIN event_progress p ON p.event_id = e.id
    WHERE e.state IN ('CLAIMED', 'FINALIZING')
"""


def overdue(in_flight, now):
    """Counter of states of in-flight jobs (state, started, video_seconds) running too long."""
    return Counter(state for state, started, video_seconds in in_flight
                   if now - started > expected_duration(video_seconds or 0))


def _read(cur):
    cur.execute(COUNTS_SQL)
    counts = {row.state: row for row in cur.fetchall()}
    cur.execute(IN_FLIGHT_SQL)
    return counts, cur.fetchall()


def refresh(conn, now):
    # One snapshot for both queries; REPEATABLE READ keeps this frequent read out of the
    # serializable conflict tracking, where it could make the cutters' own updates fail.
    counts, in_flight = run_transaction(conn, _read, isolation="REPEATABLE READ")
    late = overdue(in_flight, now)
    for state in STATES:
        row = counts.get(state)
        metrics.events.labels(state).set(row.total if row else 0)
        metrics.events_with_error.labels(state).set(row.with_error if row else 0)
    for state in IN_FLIGHT:
        metrics.events_overdue.labels(state).set(late[state])


class EventStats:
    """Refreshes the figures every `interval` seconds until `stop` is set."""

    def __init__(self, db, stop, clock, interval=INTERVAL):
        self.db, self.stop, self.clock, self.interval = db, stop, clock, interval

    def run(self):
        conn, failures = None, 0
        while not self.stop.is_set():
            try:
                conn = conn or self.db.get_conn()
                refresh(conn, self.clock())
                failures = 0
            except Exception as e:
                metrics.event_stats_errors.inc()
                failures += 1
                if failures == 1:  # the loop says when the database is down: once is enough
                    log.warning("cannot refresh the event figures: %s", one_line(e))
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass
                conn = None
            self.stop.wait(self.interval)

