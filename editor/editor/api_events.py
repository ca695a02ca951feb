"""/api/config and /api/events: what editors may choose, and the events they work on.
The rules (transitions, validation, versions) are common.events'; this only maps HTTP to them."""

from flask import Blueprint, jsonify, request

from common.dateutil import format_utc_ms
from common.events import db as events_db, edits
from common.events import progress as event_progress

from .fields import (CREATE_FIELDS, EDIT_FIELDS, ApiError, event_json, parse_event_id,
                     parse_fields, parse_flag, parse_list_args, parse_version)
from .streams import StreamsUnknown
from .web import event_errors, json_body, service, signed_in, writer

blueprint = Blueprint("events", __name__)


@blueprint.route("/api/config")
def get_config():
    signed_in()
    svc = service()
    config = svc.config
    try:
        streams, streams_error = svc.catalog.get(), None
    except StreamsUnknown as e:
        streams, streams_error = {}, f"no restreamer answered: {e}"
    return {
        "streams": streams,
        "streams_error": streams_error,
        "locations": list(config.locations),
        "cut_types": list(edits.CUT_TYPES),
        "restreamer_url": config.restreamer_urls[0],
        "restreamer_urls": list(config.restreamer_urls),
        "max_cut_duration": config.max_cut_duration.total_seconds(),
        "limits": {"title_max_chars": edits.TITLE_MAX_CHARS,
                   "title_forbidden": edits.TITLE_FORBIDDEN,
                   "description_max_bytes": edits.DESCRIPTION_MAX_BYTES,
                   "tags_max_chars": edits.TAGS_MAX_CHARS},
    }


@blueprint.route("/api/events", methods=["GET"])
def list_events():
    signed_in()
    state, q, limit = parse_list_args(request.args)
    with service().pool.connection() as conn:
        rows = events_db.list_events(conn, state, limit, q, newest_first=True)
        progress = event_progress.get_many(conn, [row["id"] for row in rows])
    return {"events": [with_progress(row, progress) for row in rows]}


@blueprint.route("/api/events/<event_id>", methods=["GET"])
def get_event(event_id):
    signed_in()
    event_id = parse_event_id(event_id)
    with event_errors(), service().pool.connection() as conn:
        return event_out(conn, events_db.get(conn, event_id))


def with_progress(row, progress):
    """The event's JSON plus `progress`: its cutter's job (phase, percent, uploader, started,
    updated) or null, from {id: Progress}. Kept apart from the row: it never changes the
    event's version."""
    found = progress.get(str(row["id"]))
    return dict(event_json(row), progress=found and found.as_json(format_utc_ms))


def event_out(conn, row):
    return with_progress(row, event_progress.get_many(conn, [row["id"]]))


@blueprint.route("/api/events", methods=["POST"])
def create_event():
    user = writer()
    values = parse_fields(json_body(), CREATE_FIELDS)
    if values.get("event_start") is None:
        raise ApiError("event_start is required")
    with event_errors("create"), service().pool.connection() as conn:
        row = events_db.create(conn, editor=user.name, **values)
        response = jsonify(event_out(conn, row))
    response.status_code = 201
    response.headers["Location"] = f"/api/events/{row['id']}"
    return response


@blueprint.route("/api/events/<event_id>", methods=["PUT"])
def save_event(event_id):
    user = writer()
    event_id = parse_event_id(event_id)
    body = json_body()
    version, submit = parse_version(body), parse_flag(body, "submit")
    changes = parse_fields(body, EDIT_FIELDS, ignore=("version", "submit"))
    svc = service()
    with event_errors("submit" if submit else "save"), svc.pool.connection() as conn:
        changed = events_db.save(conn, event_id, changes, user.name, version, submit,
                                 svc.known(wait=submit))
        return event_out(conn, changed.event)


@blueprint.route("/api/events/<event_id>/cancel", methods=["POST"])
def cancel_event(event_id):
    user = writer()
    event_id = parse_event_id(event_id)
    version = parse_version(json_body())
    with event_errors("cancel"), service().pool.connection() as conn:
        return event_out(conn, events_db.cancel(conn, event_id, user.name, version).event)


@blueprint.route("/api/events/<event_id>/reset", methods=["POST"])
def reset_event(event_id):
    user = writer(admin=True)
    event_id = parse_event_id(event_id)
    body = json_body()
    version, retry = parse_version(body), parse_flag(body, "retry")
    with event_errors("retry" if retry else "reset"), service().pool.connection() as conn:
        return event_out(conn, events_db.reset(conn, event_id, retry, user.name,
                                               version).event)


@blueprint.route("/api/events/<event_id>/manual-link", methods=["POST"])
def manual_link(event_id):
    user = writer(admin=True)
    event_id = parse_event_id(event_id)
    body = json_body()
    version = parse_version(body)
    video_id = body.get("video_id")
    if video_id is not None and not isinstance(video_id, str):
        raise ApiError("video_id must be a string")
    with event_errors("manual_link"), service().pool.connection() as conn:
        return event_out(conn, events_db.manual_link(conn, event_id, body.get("link"),
                                                     video_id, user.name, version).event)
