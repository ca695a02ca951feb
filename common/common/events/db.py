"""Changes to events as guarded SQL: the I/O of the operator CLI and the editor (the rules
live in states and edits).

Each change reads the row and writes it in one SERIALIZABLE transaction (retried on conflict),
so a cutter moving the event at the same moment makes the change fail cleanly or see the new
state, never half-apply.

Every write that changes a row bumps its `version` (a trigger in schema.sql, so the cutter's
writes count too). A change may name the version its caller last saw: if the row has moved on,
it is refused with EventConflict saying who changed the event and when, instead of overwriting
a change its author never saw. Every change by a person records who (`editor`, `edit_time`).
"""

import re
import uuid
from datetime import datetime
from typing import Any, NamedTuple

from psycopg2.extensions import connection as Connection

from common import database
from common.dateutil import format_utc_ms, utcnow

from . import edits, states

COLUMNS = (
    "id", "state", "event_start", "event_end", "category", "description", "notes",
    "upload_location", "video_start", "video_end", "video_title", "video_description",
    "video_tags", "video_stream", "video_variant", "cut_type", "allow_holes",
    "uploader_whitelist", "uploader", "error", "video_id", "video_link", "editor", "edit_time",
    "upload_time", "modified_time", "version",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM events"
# What an events search reads; schema.sql's index events_text_search is on this expression.
SEARCH_TEXT = ("(description || E'\\n' || category || E'\\n' || notes || E'\\n'"
               " || coalesce(video_title, ''))")
_ID_PREFIX_RE = re.compile(r"^[0-9a-fA-F-]{4,36}$")
# An event as read or written: a dict of COLUMNS.
Event = dict[str, Any]


class EventError(Exception):
    """A request that cannot be done; the message says why."""


class NoSuchEvent(EventError):
    pass


class EventConflict(EventError):
    """The event changed since the caller read it; `event` is the row as it is now."""

    def __init__(self, message: str, event: Event) -> None:
        super().__init__(message)
        self.event = event


class Changed(NamedTuple):
    before: str  # the state the event was in
    event: dict  # the row as written



def _dicts(cur):
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _in_transaction(conn, fn):
    """Run fn(cursor) in one transaction, retried on serialization failure; return its result."""
    return database.run_transaction(conn, fn)


def resolve_id(conn: Connection, text: str) -> str:
    """A full event id, from a full id or a unique prefix of one."""
    text = text.strip().lower()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if not _ID_PREFIX_RE.match(text):
        raise EventError(f"not an event id, nor 4 or more of its first characters: {text!r}")
    cur = database.query(conn, "SELECT id FROM events WHERE id::text LIKE %s LIMIT 2",
                         text + "%")
    found = [str(row[0]) for row in cur.fetchall()]
    if not found:
        raise NoSuchEvent(f"no event with id starting {text!r}")
    if len(found) > 1:
        raise EventError(f"id prefix {text!r} is ambiguous; give more of it")
    return found[0]


def create(conn: Connection, event_start: datetime, event_end: datetime | None = None,
           category: str = "", description: str = "", notes: str = "",
           editor: str | None = None) -> Event:
    """A new UNEDITED event; returns it (a dict of COLUMNS)."""
    problems = edits.event_problems(dict(event_start=event_start, event_end=event_end))
    if problems:
        raise EventError("; ".join(problems))
    cur = database.query(conn, f"""
        INSERT INTO events (event_start, event_end, category, description, notes, editor,
                            edit_time)
        VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {', '.join(COLUMNS)}
    """, event_start, event_end, category, description, notes, editor,
        utcnow() if editor else None)
    return _dicts(cur)[0]


def _like_pattern(text):
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_events(conn: Connection, state: str | None = None, limit: int = 100,
                q: str | None = None, newest_first: bool = False) -> list[Event]:
    """Events by event_start (oldest first, or newest first), optionally only those in `state`
    and those whose description, category, notes or title contain `q` (any case)."""
    where, args = [], []
    if state:
        where.append("state = %s")
        args.append(state)
    if q:
        where.append(f"{SEARCH_TEXT} ILIKE %s")
        args.append(_like_pattern(q))
    order = "event_start DESC NULLS LAST, id DESC" if newest_first else \
        "event_start NULLS LAST, id"
    cur = database.query(conn, f"""
        {_SELECT} {'WHERE ' + ' AND '.join(where) if where else ''}
        ORDER BY {order} LIMIT %s
    """, *args, limit)
    return _dicts(cur)


def _get(cur, event_id):
    cur.execute(f"{_SELECT} WHERE id = %s", (event_id,))
    rows = _dicts(cur)
    if not rows:
        raise NoSuchEvent(f"no event {event_id}")
    return rows[0]


def get(conn: Connection, event_id: str) -> Event:
    return _in_transaction(conn, lambda cur: _get(cur, event_id))


def _update(cur, event_id, from_state, values):
    """UPDATE guarded by the state we read (serializable makes the read and write atomic);
    returns the row as written."""
    names = sorted(values)
    cur.execute(
        f"UPDATE events SET {', '.join(f'{n} = %s' for n in names)} "
        f"WHERE id = %s AND state = %s RETURNING {', '.join(COLUMNS)}",
        [values[n] for n in names] + [event_id, from_state])
    rows = _dicts(cur)
    if len(rows) != 1:
        raise EventError(f"event {event_id} changed while updating it; try again")
    return rows[0]


def conflict_message(row: Event, version: int) -> str:
    """Who changed the event and when, for someone whose copy is `version`."""
    parts = [f"event {row['id']} was changed after you loaded it (your version {version}, "
             f"now {row['version']})"]
    if row["editor"]:
        parts.append(f"last edited by {row['editor']} at {format_utc_ms(row['edit_time'])}")
    now = f"now {row['state']}"
    if row["uploader"]:
        now += f" (cutter {row['uploader']})"
    if row["modified_time"]:
        now += f", last changed at {format_utc_ms(row['modified_time'])}"
    return "; ".join(parts + [now])


def _check_version(row, version):
    if version is not None and row["version"] != version:
        raise EventConflict(conflict_message(row, version), row)


def _same(new, old):
    """Times equal to the millisecond are the same: the editor shows and sends milliseconds,
    and sending back a time an operator stored with microseconds is no change."""
    if isinstance(new, datetime) and isinstance(old, datetime):
        return _to_ms(new) == _to_ms(old)
    return new == old


def _to_ms(dt):
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def save(conn: Connection, event_id: str, changes: dict[str, Any], editor: str | None,
         version: int | None = None, submit: bool = False,
         known: edits.Known | None = None) -> Changed:
    """Change an event's description (edits.EVENT_INFO, in any state) and edit inputs
    (edits.CUT_INPUTS). With submit, the complete edit is validated and the event becomes
    EDITED (the "edit" action: a CLAIMED event's cutter abandons its job); without, changed
    edit inputs are a draft of an unsubmitted event. `known` (edits.Known) adds the checks
    against a deployment's streams, locations and longest cut. Returns Changed; a request
    that changes nothing writes nothing."""
    unknown = set(changes) - set(edits.CUT_INPUTS) - set(edits.EVENT_INFO)
    if unknown:
        raise ValueError(f"not event fields: {sorted(unknown)}")

    def run(cur):
        row = _get(cur, event_id)
        _check_version(row, version)
        changed = {name: value for name, value in changes.items()
                   if not _same(value, row[name])}
        values = {name: value for name, value in changed.items() if name in edits.EVENT_INFO}
        if values:
            problems = edits.event_problems({name: values.get(name, row[name])
                                             for name in edits.EVENT_INFO})
            if problems:
                raise EventError(f"cannot change event {event_id}: {'; '.join(problems)}")
        cut = {name: value for name, value in changed.items() if name in edits.CUT_INPUTS}
        if submit or cut:
            target = _target("edit" if submit else "draft", row)
            merged = {name: cut.get(name, row[name]) for name in edits.CUT_INPUTS}
            try:
                edits.validate(merged, known, draft=not submit)
            except edits.EditError as e:
                raise EventError(f"cannot edit event {event_id}: {e}") from None
            values.update(cut, state=target)
            if submit:
                values.update(uploader=None, error=None)
        if not values:
            return Changed(row["state"], row)
        values.update(editor=editor, edit_time=utcnow())
        return Changed(row["state"], _update(cur, event_id, row["state"], values))

    return _in_transaction(conn, run)


def edit(conn: Connection, event_id: str, changes: dict[str, Any], editor: str | None,
         version: int | None = None, known: edits.Known | None = None) -> Changed:
    """Apply edit-input changes (a dict of columns) and make the event EDITED."""
    unknown = set(changes) - set(edits.CUT_INPUTS)
    if unknown:
        raise ValueError(f"not edit inputs: {sorted(unknown)}")
    return save(conn, event_id, changes, editor, version, submit=True, known=known)


def cancel(conn: Connection, event_id: str, editor: str | None = None,
           version: int | None = None) -> Changed:
    return _simple(conn, event_id, "cancel", {"uploader": None, "error": None}, editor, version)


def reset(conn: Connection, event_id: str, retry: bool = False, editor: str | None = None,
          version: int | None = None) -> Changed:
    """FINALIZING/TRANSCODING -> UNEDITED, or FINALIZING -> EDITED with retry: the operator has
    checked whether the upload happened."""
    action = "retry" if retry else "reset"
    # video_id/video_link stay: they record what an earlier attempt may have produced.
    return _simple(conn, event_id, action, {"uploader": None, "error": None}, editor, version)


def manual_link(conn: Connection, event_id: str, link: str, video_id: str | None = None,
                editor: str | None = None, version: int | None = None) -> Changed:
    if not isinstance(link, str) or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", link):
        raise EventError(f"not a URL: {link!r}")
    return _simple(conn, event_id, "manual-link", {
        "upload_location": edits.MANUAL_LOCATION, "video_link": link, "video_id": video_id,
        "upload_time": utcnow(), "uploader": None, "error": None,
    }, editor, version)


def _simple(conn, event_id, action, values, editor, version):
    def run(cur):
        row = _get(cur, event_id)
        _check_version(row, version)
        target = _target(action, row)
        changes = dict(values, state=target)
        if editor:
            changes.update(editor=editor, edit_time=utcnow())
        return Changed(row["state"], _update(cur, event_id, row["state"], changes))

    return _in_transaction(conn, run)


def _target(action, row):
    try:
        return states.action_target(action, row["state"])
    except states.TransitionError as e:
        raise EventError(f"event {row['id']}: {e}") from None
