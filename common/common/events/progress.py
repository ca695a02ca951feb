"""Progress of the job working on an event (its cut and upload), in table `event_progress`.

The cutter writes it (at most every few seconds, and at once when the phase changes); the
operator CLI (`uploader events show`), the editor and the cutter's alert metrics read it. It is a
table of its own so that progress updates never write to the `events` row: an editor's conflict
check on the event's version must not fire because a cut advanced.

Phases are the cutter's: `cut` (cutting into a spool file), `upload` (sending that file),
`cut_and_upload` (a cut streamed straight into the upload). `percent` is None while unknown.

Reads and writes here run at READ COMMITTED: progress needs no serializable guarantees, and
keeping these frequent statements out of Postgres' serializable conflict tracking means they can
never make the events' own (SERIALIZABLE) transactions fail.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional
from uuid import UUID

from psycopg2.extensions import connection as Connection

from ..database import run_transaction
from ..dateutil import format_duration

CUT, UPLOAD, CUT_AND_UPLOAD = "cut", "upload", "cut_and_upload"
PHASES = (CUT, UPLOAD, CUT_AND_UPLOAD)

# How long a job may take before its event counts as overdue (the cutter exports the count and
# prometheus/alerts.yml alerts on it): a fixed allowance plus a multiple of the video's length.
# Generous on purpose: a full re-encode on a small machine runs near real time, and an upload of
# an hour of 1080p on a slow uplink takes about as long again.
EXPECTED_BASE = timedelta(minutes=10)
EXPECTED_PER_VIDEO_SECOND = 2.0


def expected_duration(video_seconds: float) -> timedelta:
    """How long a cut and upload of a video this long is expected to take at most."""
    return EXPECTED_BASE + timedelta(seconds=EXPECTED_PER_VIDEO_SECOND * max(video_seconds, 0))


@dataclass(frozen=True)
class Progress:
    event_id: str
    uploader: str          # the cutter doing the job
    phase: str
    percent: Optional[float]
    started: datetime      # when the job began (naive UTC)
    updated: datetime      # when this was last written (naive UTC)

    def describe(self, now: datetime) -> str:
        """One line for people: 'upload 42% (cutter node-a, started 3m10s ago, updated 2s
        ago)'."""
        amount = "" if self.percent is None else f" {self.percent:.0f}%"
        return (f"{self.phase}{amount} (cutter {self.uploader}, started "
                f"{_ago(now - self.started)} ago, updated {_ago(now - self.updated)} ago)")

    def as_json(self, format_time: Callable[[datetime], Any] = datetime.isoformat
                ) -> dict[str, Any]:
        return {"phase": self.phase, "percent": self.percent, "uploader": self.uploader,
                "started": format_time(self.started), "updated": format_time(self.updated)}


def _ago(delta):
    return format_duration(timedelta(seconds=max(0, round(delta.total_seconds()))))


_COLUMNS = "event_id, uploader, phase, percent, started, updated"


def _progress(row):
    return Progress(str(row.event_id), row.uploader, row.phase,
                    None if row.percent is None else float(row.percent), row.started, row.updated)


def _run(conn, sql, args):
    def run(cur):
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None
    return run_transaction(conn, run, isolation="READ COMMITTED")


def record(conn: Connection, event_id: str, uploader: str, phase: str, percent: float | None,
           started: datetime, now: datetime) -> None:
    """Insert or replace the event's progress (one row per event)."""
    if percent is not None:
        percent = min(100.0, max(0.0, float(percent)))
    _run(conn, f"""
        INSERT INTO event_progress ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (event_id) DO UPDATE SET uploader = EXCLUDED.uploader,
            phase = EXCLUDED.phase, percent = EXCLUDED.percent, started = EXCLUDED.started,
            updated = EXCLUDED.updated
    """, (event_id, uploader, phase, percent, started, now))


def clear(conn: Connection, event_id: str, uploader: str) -> None:
    """Remove the event's progress, if it is still this uploader's (the job ended)."""
    _run(conn, "DELETE FROM event_progress WHERE event_id = %s AND uploader = %s",
         (event_id, uploader))


def get(conn: Connection, event_id: str | UUID) -> Progress | None:
    """The event's progress, or None if no job is (or was left) working on it."""
    return get_many(conn, [event_id]).get(str(event_id))


def get_many(conn: Connection, event_ids: Iterable[str | UUID]) -> dict[str, Progress]:
    """{event id: Progress} for those of the ids that have progress."""
    ids = [str(i) for i in event_ids]
    if not ids:
        return {}
    rows = _run(conn, f"SELECT {_COLUMNS} FROM event_progress WHERE event_id = ANY(%s::uuid[])",
                (ids,))
    return {str(row.event_id): _progress(row) for row in rows}
