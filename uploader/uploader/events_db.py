"""The operator's changes to events, as guarded SQL (the CLI's I/O; rules live in states/edits).

Each change reads the row and writes it in one SERIALIZABLE transaction (retried on conflict),
so a cutter moving the event at the same moment makes the change fail cleanly or see the new
state, never half-apply.
"""

import re
import uuid

from common import database
from common.dateutil import utcnow

from . import edits, states

COLUMNS = (
    "id", "state", "event_start", "event_end", "category", "description", "notes",
    "upload_location", "video_start", "video_end", "video_title", "video_description",
    "video_tags", "video_stream", "video_variant", "cut_type", "allow_holes",
    "uploader_whitelist", "uploader", "error", "video_id", "video_link", "editor", "edit_time",
    "upload_time",
)
_ID_PREFIX_RE = re.compile(r"^[0-9a-fA-F-]{4,36}$")


class EventError(Exception):
    """An operator request that cannot be done; the message says why."""


def _dicts(cur):
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _in_transaction(conn, fn):
    """Run fn(cursor) in one transaction, retried on serialization failure; return its result."""
    return database.run_transaction(conn, fn)


def resolve_id(conn, text):
    """A full event id, from a full id or a unique prefix of one."""
    text = text.strip().lower()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if not _ID_PREFIX_RE.match(text):
        raise EventError(f"not an event id: {text!r}")
    cur = database.query(conn, "SELECT id FROM events WHERE id::text LIKE %s LIMIT 2",
                         text + "%")
    found = [str(row[0]) for row in cur.fetchall()]
    if not found:
        raise EventError(f"no event with id starting {text!r}")
    if len(found) > 1:
        raise EventError(f"id prefix {text!r} is ambiguous; give more of it")
    return found[0]


def create(conn, event_start, event_end=None, category="", description="", notes=""):
    if event_end is not None and event_start is not None and event_end < event_start:
        raise EventError("event end is before its start")
    cur = database.query(conn, """
        INSERT INTO events (event_start, event_end, category, description, notes)
        VALUES (%s, %s, %s, %s, %s) RETURNING id
    """, event_start, event_end, category, description, notes)
    return str(cur.fetchone()[0])


def list_events(conn, state=None, limit=100):
    where = "WHERE state = %s" if state else ""
    args = [state] if state else []
    cur = database.query(conn, f"""
        SELECT {', '.join(COLUMNS)} FROM events {where}
        ORDER BY event_start NULLS LAST, id LIMIT %s
    """, *args, limit)
    return _dicts(cur)


def _get(cur, event_id):
    cur.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE id = %s", (event_id,))
    rows = _dicts(cur)
    if not rows:
        raise EventError(f"no event {event_id}")
    return rows[0]


def get(conn, event_id):
    return _in_transaction(conn, lambda cur: _get(cur, event_id))


def _update(cur, event_id, from_state, values):
    """UPDATE guarded by the state we read (serializable makes the read and write atomic)."""
    names = sorted(values)
    cur.execute(
        f"UPDATE events SET {', '.join(f'{n} = %s' for n in names)} "
        "WHERE id = %s AND state = %s",
        [values[n] for n in names] + [event_id, from_state])
    if cur.rowcount != 1:
        raise EventError(f"event {event_id} changed while updating it; try again")


def edit(conn, event_id, changes, editor):
    """Apply edit-input changes (a dict of columns) and make the event EDITED."""
    unknown = set(changes) - set(edits.CUT_INPUTS)
    if unknown:
        raise ValueError(f"not edit inputs: {sorted(unknown)}")

    def run(cur):
        row = _get(cur, event_id)
        target = _target("edit", row)
        merged = {name: row[name] for name in edits.CUT_INPUTS}
        merged.update(changes)
        try:
            edits.validate(merged)
        except edits.EditError as e:
            raise EventError(f"cannot edit event {event_id}: {e}")
        values = dict(merged, state=target, editor=editor, edit_time=utcnow(),
                      uploader=None, error=None)
        _update(cur, event_id, row["state"], values)
        return row["state"]

    return _in_transaction(conn, run)


def cancel(conn, event_id):
    return _simple(conn, event_id, "cancel", {"uploader": None, "error": None})


def reset(conn, event_id, retry=False):
    """FINALIZING/TRANSCODING -> UNEDITED, or FINALIZING -> EDITED with retry: the operator has
    checked whether the upload happened."""
    action = "retry" if retry else "reset"
    # video_id/video_link stay: they record what an earlier attempt may have produced.
    return _simple(conn, event_id, action, {"uploader": None, "error": None})


def manual_link(conn, event_id, link, video_id=None, editor=None):
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", link):
        raise EventError(f"not a URL: {link!r}")
    now = utcnow()
    return _simple(conn, event_id, "manual-link", {
        "upload_location": edits.MANUAL_LOCATION, "video_link": link, "video_id": video_id,
        "upload_time": now, "editor": editor, "edit_time": now, "uploader": None, "error": None,
    })


def _simple(conn, event_id, action, values):
    def run(cur):
        row = _get(cur, event_id)
        target = _target(action, row)
        _update(cur, event_id, row["state"], dict(values, state=target))
        return row["state"]

    return _in_transaction(conn, run)


def _target(action, row):
    try:
        return states.action_target(action, row["state"])
    except states.TransitionError as e:
        raise EventError(f"event {row['id']}: {e}")
