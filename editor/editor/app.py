"""The editor's HTTP app (Flask): the page (static files), the JSON API under /api/
(api_session, api_events) and /metrics.

Routes and their JSON are documented in editor/README.md. Every answer of the API is JSON; an
error is {"error": "one-line reason"} with a 4xx status (5xx only for the server's own
failures or an unreachable database). Reading needs a signed-in editor; every write also
needs the session's CSRF token in the X-CSRF-Token header, and a JSON body.
"""

import logging
import os
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import timedelta

import prometheus_client as prom
import psycopg2
from flask import Flask, Response, g, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from . import accounts, api_events, api_session
from .api_events import event_out
from .fields import ApiError
from .web import ConflictError, Service, service

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

requests_total = prom.Counter(
    "editor_http_requests", "HTTP requests handled", ["endpoint", "method", "status"])
request_latency = prom.Histogram(
    "editor_http_request_latency_seconds", "Time until the response was ready",
    ["endpoint", "method"],
    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


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
    static_dir: str = field(default=STATIC_DIR)


def create_app(config, pool):
    """`pool`: a pool.ConnectionPool for the events database."""
    app = Flask(__name__, static_folder=config.static_dir, static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["editor"] = Service.create(config, pool)
    app.register_blueprint(api_session.blueprint)
    app.register_blueprint(api_events.blueprint)
    app.register_error_handler(ApiError, api_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(psycopg2.OperationalError, database_down)
    app.register_error_handler(Exception, server_error)
    app.before_request(start_timer)
    csp = content_security_policy(config.restreamer_urls)
    app.after_request(lambda response: finish(response, csp))

    @app.route("/metrics")
    def metrics():
        return Response(prom.generate_latest(), content_type=prom.CONTENT_TYPE_LATEST)

    @app.route("/")
    def index():
        response = send_from_directory(config.static_dir, "index.html")
        response.headers["Cache-Control"] = "no-cache"
        return response

    return app


def api_error(e):
    body = {"error": str(e)}
    if isinstance(e, ConflictError):
        with service().pool.connection() as conn:
            body["event"] = event_out(conn, e.event)  # as GET shows it, progress too
    return _json(body, e.status)


def http_error(e):
    if e.code == 404:
        return _json({"error": f"not found: {request.path}"}, 404)
    return _json({"error": f"{e.name}: {e.description}"}, e.code)


def database_down(e):  # DatabaseUnavailable too
    reason = " ".join(str(e).split()) or type(e).__name__
    log.warning("database unavailable: %s", reason)
    return _json({"error": f"database unavailable: {reason}"}, 503)


def server_error(e):
    log.exception("error handling %s %s", request.method, request.path)
    return _json({"error": f"internal error: {type(e).__name__}"}, 500)


def start_timer():
    g.started = time.monotonic()


def finish(response, csp):
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
        response.headers["Content-Security-Policy"] = csp
    return response


def content_security_policy(restreamer_urls):
    """Scripts only from this server (no inline script: an injected title cannot run);
    video and playlists also from the restreamers."""
    origins = " ".join(sorted({_origin(url) for url in restreamer_urls}))
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob: {origins}; "
            f"media-src 'self' blob: {origins}; connect-src 'self' {origins}; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'")


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _json(body, status):
    response = jsonify(body)
    response.status_code = status
    return response
