"""The editor's HTTP app (Flask): the page (static files) and the JSON API under /api/.

Routes and their JSON are documented in editor/README.md. Every answer of the API is JSON; an
error is {"error": "one-line reason"} with a 4xx status (5xx only for the server's own
failures). Reading needs a signed-in editor; every write also needs the session's CSRF token
in the X-CSRF-Token header, and a JSON body (Content-Type: application/json).
"""

import hmac
import logging
import os
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import prometheus_client as prom
import psycopg2
from flask import Flask, Response, g, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from common.events import db as events_db, edits
from common.events.db import EventConflict, EventError, NoSuchEvent

from . import accounts
from .fields import (CREATE_FIELDS, EDIT_FIELDS, ApiError, body_object, event_json,
                     parse_event_id, parse_fields, parse_flag, parse_list_args, parse_version)
from .streams import StreamCatalog, StreamsUnknown
from .throttle import SignInThrottle

log = logging.getLogger(__name__)

SESSION_COOKIE = "editor_session"
CSRF_HEADER = "X-CSRF-Token"
ANONYMOUS = "anonymous"
MAX_BODY_BYTES = 1 << 20

requests_total = prom.Counter(
    "editor_http_requests", "HTTP requests handled", ["endpoint", "method", "status"])
request_latency = prom.Histogram(
    "editor_http_request_latency_seconds", "Time until the response was ready",
    ["endpoint", "method"],
    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
sign_ins = prom.Counter(
    "editor_sign_ins", "Sign-in attempts by result", ["result"])
event_changes = prom.Counter(
    "editor_event_changes", "Event writes through the API by action and result",
    ["action", "result"])
for _result in ("ok", "unknown_token", "throttled"):
    sign_ins.labels(_result)


@dataclass
class Config:
    restreamer_urls: list
    locations: list
    max_cut_duration: timedelta = timedelta(hours=6)
    no_auth: bool = False
    session_lifetime: timedelta = accounts.DEFAULT_SESSION_LIFETIME
    sign_in_limit: int = 5
    sign_in_window: float = 60.0
    secure_cookie: bool = False  # force the Secure flag (it is set anyway for https requests)
    catalog_max_age: float = 30.0
    static_dir: str = field(
        default_factory=lambda: os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "static"))


def create_app(config, pool):
    """`pool`: a pool.ConnectionPool for the events database."""
    app = Flask(__name__, static_folder=config.static_dir, static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    catalog = StreamCatalog(config.restreamer_urls, max_age=config.catalog_max_age)
    throttle = SignInThrottle(config.sign_in_limit, config.sign_in_window)
    # --no-auth: one anonymous admin, still with a CSRF token (another site open in the same
    # browser must not be able to post to a loopback editor either).
    anonymous = accounts.User(ANONYMOUS, True, accounts.new_secret()) if config.no_auth else None
    app.extensions["editor"] = dict(config=config, pool=pool, catalog=catalog,
                                    throttle=throttle)

    # --- plumbing: errors, metrics, headers -------------------------------------------------

    @app.errorhandler(ApiError)
    def api_error(e):
        body = {"error": str(e)}
        if isinstance(e, ConflictError):
            body["event"] = event_json(e.event)
        response = jsonify(body)
        response.status_code = e.status
        return response

    @app.errorhandler(HTTPException)
    def http_error(e):
        if e.code == 404:
            return _error(f"not found: {request.path}", 404)
        return _error(f"{e.name}: {e.description}", e.code)

    @app.errorhandler(psycopg2.OperationalError)  # DatabaseUnavailable too
    def database_down(e):
        reason = " ".join(str(e).split()) or type(e).__name__
        log.warning("database unavailable: %s", reason)
        return _error(f"database unavailable: {reason}", 503)

    @app.errorhandler(Exception)
    def server_error(e):
        log.exception("error handling %s %s", request.method, request.path)
        return _error(f"internal error: {type(e).__name__}", 500)

    @app.before_request
    def start_timer():
        g.started = time.monotonic()

    @app.after_request
    def finish(response):
        endpoint = request.endpoint or "unmatched"
        started = g.get("started")
        if started is not None:
            request_latency.labels(endpoint, request.method).observe(time.monotonic() - started)
        requests_total.labels(endpoint, request.method, str(response.status_code)).inc()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        elif not request.path.startswith("/static/"):
            response.headers["Content-Security-Policy"] = content_security_policy(
                config.restreamer_urls)
        return response

    @app.route("/metrics")
    def metrics():
        return Response(prom.generate_latest(), mimetype=prom.CONTENT_TYPE_LATEST)

    # --- the page ---------------------------------------------------------------------------

    @app.route("/")
    def index():
        response = send_from_directory(config.static_dir, "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    # --- who is asking ----------------------------------------------------------------------

    def current_user():
        if anonymous is not None:
            return anonymous
        if "user" not in g:
            with pool.connection() as conn:
                g.user = accounts.session_user(conn, request.cookies.get(SESSION_COOKIE))
        return g.user

    def signed_in():
        user = current_user()
        if user is None:
            raise ApiError("not signed in", 401)
        return user

    def writer(admin=False):
        """The signed-in user of a write, after the CSRF check; `admin`: only admins."""
        user = signed_in()
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), user.csrf.encode()):
            raise ApiError(f"missing or wrong {CSRF_HEADER} header (the csrf of "
                           "GET /api/session)", 403)
        if admin and not user.admin:
            raise ApiError(f"only an admin may do this; {user.name} is not one", 403)
        return user

    def json_body():
        if not request.is_json:
            raise ApiError("send a JSON body (Content-Type: application/json)", 415)
        body = request.get_json(silent=True)
        if body is None:
            raise ApiError("the request body is not valid JSON")
        return body_object(body)

    def session_json(user):
        return {"editor": user.name, "admin": user.admin, "csrf": user.csrf}

    # --- session ----------------------------------------------------------------------------

    @app.route("/api/session", methods=["GET"])
    def get_session():
        return session_json(signed_in())

    @app.route("/api/session", methods=["POST"])
    def sign_in():
        if anonymous is not None:
            return session_json(anonymous)
        body = json_body()
        address = request.remote_addr or "unknown"
        wait = throttle.retry_after(address, time.monotonic())
        if wait > 0:
            sign_ins.labels("throttled").inc()
            response = _error(f"too many failed sign-ins from {address}; try again in "
                              f"{int(wait) + 1} s", 429)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        with pool.connection() as conn:
            result = accounts.sign_in(conn, body.get("token"), config.session_lifetime)
        if result is None:
            throttle.failed(address, time.monotonic())
            sign_ins.labels("unknown_token").inc()
            log.info("failed sign-in from %s", address)
            raise ApiError("unknown token", 401)
        secret, user = result
        sign_ins.labels("ok").inc()
        log.info("%s signed in from %s", user.name, address)
        response = jsonify(session_json(user))
        response.set_cookie(
            SESSION_COOKIE, secret, max_age=int(config.session_lifetime.total_seconds()),
            httponly=True, samesite="Strict", path="/",
            secure=config.secure_cookie or request.is_secure)
        return response

    @app.route("/api/session", methods=["DELETE"])
    def sign_out():
        writer()
        if anonymous is None:
            with pool.connection() as conn:
                accounts.sign_out(conn, request.cookies.get(SESSION_COOKIE))
        response = jsonify({"signed_out": True})
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict")
        return response

    # --- configuration ----------------------------------------------------------------------

    def known():
        """What submitted edits are checked against."""
        try:
            streams = catalog.get()
        except StreamsUnknown as e:
            raise ApiError(f"cannot check the stream: no restreamer answered ({e})", 503)
        return edits.Known(streams=streams, locations=tuple(config.locations),
                           max_duration=config.max_cut_duration)

    @app.route("/api/config")
    def get_config():
        signed_in()
        try:
            streams, streams_error = catalog.get(), None
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

    # --- events -----------------------------------------------------------------------------

    @app.route("/api/events", methods=["GET"])
    def list_events():
        signed_in()
        state, q, limit = parse_list_args(request.args)
        with pool.connection() as conn:
            rows = events_db.list_events(conn, state, limit, q, newest_first=True)
        return {"events": [event_json(row) for row in rows]}

    @app.route("/api/events/<event_id>", methods=["GET"])
    def get_event(event_id):
        signed_in()
        event_id = parse_event_id(event_id)
        with event_errors(), pool.connection() as conn:
            return event_json(events_db.get(conn, event_id))

    @app.route("/api/events", methods=["POST"])
    def create_event():
        user = writer()
        values = parse_fields(json_body(), CREATE_FIELDS)
        if values.get("event_start") is None:
            raise ApiError("event_start is required")
        with event_errors("create"), pool.connection() as conn:
            row = events_db.create(conn, editor=user.name, **values)
        response = jsonify(event_json(row))
        response.status_code = 201
        response.headers["Location"] = f"/api/events/{row['id']}"
        return response

    @app.route("/api/events/<event_id>", methods=["PUT"])
    def save_event(event_id):
        user = writer()
        event_id = parse_event_id(event_id)
        body = json_body()
        version, submit = parse_version(body), parse_flag(body, "submit")
        changes = parse_fields(body, EDIT_FIELDS, ignore=("version", "submit"))
        with event_errors("submit" if submit else "save"), pool.connection() as conn:
            changed = events_db.save(conn, event_id, changes, user.name, version, submit,
                                     known() if submit else draft_known())
        return event_json(changed.event)

    def draft_known():
        """Drafts are checked against what is known without waiting for a restreamer."""
        return edits.Known(streams=catalog.streams, locations=tuple(config.locations),
                           max_duration=config.max_cut_duration)

    @app.route("/api/events/<event_id>/cancel", methods=["POST"])
    def cancel_event(event_id):
        user = writer()
        event_id = parse_event_id(event_id)
        version = parse_version(json_body())
        with event_errors("cancel"), pool.connection() as conn:
            return event_json(events_db.cancel(conn, event_id, user.name, version).event)

    @app.route("/api/events/<event_id>/reset", methods=["POST"])
    def reset_event(event_id):
        user = writer(admin=True)
        event_id = parse_event_id(event_id)
        body = json_body()
        version, retry = parse_version(body), parse_flag(body, "retry")
        with event_errors("retry" if retry else "reset"), pool.connection() as conn:
            return event_json(events_db.reset(conn, event_id, retry, user.name, version).event)

    @app.route("/api/events/<event_id>/manual-link", methods=["POST"])
    def manual_link(event_id):
        user = writer(admin=True)
        event_id = parse_event_id(event_id)
        body = json_body()
        version = parse_version(body)
        video_id = body.get("video_id")
        if video_id is not None and not isinstance(video_id, str):
            raise ApiError("video_id must be a string")
        with event_errors("manual_link"), pool.connection() as conn:
            return event_json(events_db.manual_link(conn, event_id, body.get("link"), video_id,
                                                    user.name, version).event)

    return app


class ConflictError(ApiError):
    """409: the event changed since the client read it; the answer carries the event as it is
    now, so the page can show what changed."""

    def __init__(self, reason, event):
        super().__init__(reason, 409)
        self.event = event


@contextmanager
def event_errors(action=None):
    """Turns the shared event rules' refusals into API errors; counts each write's result
    by `action` (a fixed set of names)."""
    try:
        yield
    except EventConflict as e:
        _count(action, "conflict")
        raise ConflictError(str(e), e.event) from None
    except NoSuchEvent as e:
        _count(action, "not_found")
        raise ApiError(str(e), 404) from None
    except EventError as e:
        _count(action, "refused")
        raise ApiError(str(e)) from None
    except psycopg2.errors.CheckViolation as e:
        # The database's own rules (the last line of defence) refused it.
        _count(action, "refused")
        raise ApiError(f"refused by the database: {str(e).splitlines()[0]}") from None
    _count(action, "ok")


def _count(action, result):
    if action is not None:
        event_changes.labels(action, result).inc()


def content_security_policy(restreamer_urls):
    """Scripts only from this server (no inline script: an injected title cannot run);
    video and playlists also from the restreamers."""
    origins = " ".join(sorted({_origin(url) for url in restreamer_urls}))
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; "
            f"media-src 'self' blob: {origins}; connect-src 'self' {origins}; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'")


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _error(reason, status):
    response = jsonify({"error": reason})
    response.status_code = status
    return response
