"""What API clients send, checked and converted to column values (pure, no I/O).

Every problem is an ApiError: a 4xx status and a one-line reason. The rules about what the
values may be (lengths, names, ranges, transitions) are common.events'; this module only
checks that each field has the JSON type of its column and turns times into datetimes.
"""

import uuid
from datetime import datetime

from common.dateutil import format_utc_ms, parse_utc_only
from common.events import edits, states


class ApiError(Exception):
    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.status = status


# Column -> (JSON kind, nullable). Kinds: time, text, bool, tags (list of strings).
FIELDS = {
    "event_start": ("time", False),
    "event_end": ("time", True),
    "category": ("text", False),
    "description": ("text", False),
    "notes": ("text", False),
    "video_start": ("time", True),
    "video_end": ("time", True),
    "video_title": ("text", True),
    "video_description": ("text", True),
    "video_tags": ("tags", False),
    "video_stream": ("text", True),
    "video_variant": ("text", False),
    "upload_location": ("text", True),
    "cut_type": ("text", True),
    "allow_holes": ("bool", False),
    "uploader_whitelist": ("tags", True),
}
# Set by the system (or by the actions: cancel, reset, manual-link), never by a save.
READ_ONLY = ("id", "state", "uploader", "error", "video_id", "video_link", "editor",
             "edit_time", "upload_time", "modified_time")
CREATE_FIELDS = ("event_start", "event_end", "category", "description", "notes")
EDIT_FIELDS = edits.EVENT_INFO + edits.CUT_INPUTS
assert set(EDIT_FIELDS) == set(FIELDS)
KIND_NAMES = {"time": "a UTC ISO 8601 time string (e.g. 2026-11-27T13:00:00.000Z)",
              "text": "a string", "bool": "true or false", "tags": "a list of strings"}
MAX_LIMIT = 1000
MAX_QUERY_CHARS = 200


def body_object(body):
    if not isinstance(body, dict):
        raise ApiError("the request body must be a JSON object")
    return body


def parse_fields(body, allowed, ignore=()):
    """{column: value} for the event fields in `body`; any other key (except `ignore`) is a
    400 naming it."""
    values = {}
    for name, value in body.items():
        if name in ignore:
            continue
        if name not in allowed:
            what = ("read-only field" if name in READ_ONLY else
                    "field not accepted here:" if name in FIELDS else "unknown field")
            raise ApiError(f"{what} {name!r} (accepted here: {', '.join(allowed)})")
        values[name] = parse_value(name, value)
    return values


def parse_value(name, value):
    kind, nullable = FIELDS[name]
    if value is None:
        if nullable:
            return None
        raise ApiError(f"{name} must not be null: want {KIND_NAMES[kind]}")
    if kind == "time":
        if not isinstance(value, str):
            raise ApiError(f"{name} must be {KIND_NAMES[kind]}")
        try:
            return parse_utc_only(value)
        except ValueError as e:
            raise ApiError(f"bad {name}: {e}") from None
    if kind == "text":
        return _text(name, value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ApiError(f"{name} must be {KIND_NAMES[kind]}")
        return value
    if not isinstance(value, list):
        raise ApiError(f"{name} must be {KIND_NAMES[kind]}")
    return [_text(name, item) for item in value]


def _text(name, value):
    if not isinstance(value, str):
        raise ApiError(f"{name} must be a string")
    if "\x00" in value:  # Postgres text cannot hold it
        raise ApiError(f"{name} contains a NUL character")
    return value


def parse_version(body):
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ApiError("version is required: the event's version as you last read it "
                       "(a positive integer)")
    return version


def parse_flag(body, name):
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(f"{name} must be true or false")
    return value


def parse_event_id(text):
    """A full event id (a UUID); anything else names no event."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ApiError(f"no event {text!r}", 404) from None


def parse_list_args(args):
    """GET /api/events query -> (state, q, limit)."""
    state = args.get("state") or None
    if state is not None and state not in states.STATES:
        raise ApiError(f"bad state {state!r}: want one of {', '.join(states.STATES)}")
    q = args.get("q") or None
    if q is not None and (len(q) > MAX_QUERY_CHARS or "\x00" in q):
        raise ApiError(f"q must be at most {MAX_QUERY_CHARS} characters of text")
    limit = args.get("limit") or "100"
    try:
        limit = int(limit)
    except ValueError:
        raise ApiError(f"bad limit {limit!r}: want a number from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(f"bad limit {limit}: want a number from 1 to {MAX_LIMIT}")
    return state, q, limit


def event_json(row):
    """An events row as the API shows it: column names, times as ISO 8601 UTC with
    milliseconds and a Z, the id as a string."""
    return {name: format_utc_ms(value) if isinstance(value, datetime)
            else str(value) if name == "id" else value
            for name, value in row.items()}
