"""What every API route needs: the service's state, who is asking, the CSRF check, the JSON
body, and turning the shared event rules' refusals into API errors."""

import hmac
from contextlib import contextmanager
from dataclasses import dataclass

import prometheus_client as prom
import psycopg2.errors
from flask import current_app, g, request

from common.events import edits
from common.events.db import EventConflict, EventError, NoSuchEvent

from . import accounts
from .fields import ApiError, body_object
from .streams import StreamCatalog, StreamsUnknown
from .throttle import SignInThrottle

SESSION_COOKIE = "editor_session"
CSRF_HEADER = "X-CSRF-Token"
ANONYMOUS = "anonymous"

event_changes = prom.Counter(
    "editor_event_changes", "Event writes through the API by action and result",
    ["action", "result"])


class ConflictError(ApiError):
    """409: the event changed since the client read it; the answer carries the event as it is
    now, so the page can show what changed."""

    def __init__(self, reason, event):
        super().__init__(reason, 409)
        self.event = event


@dataclass
class Service:
    """Per app: its Config, the connection pool and what lives as long as the process."""
    config: object
    pool: object
    catalog: StreamCatalog
    throttle: SignInThrottle
    anonymous: accounts.User | None  # the one user of --no-auth

    @classmethod
    def create(cls, config, pool):
        # --no-auth still has a CSRF token: another site open in the same browser must not be
        # able to post to a loopback editor either.
        anonymous = (accounts.User(ANONYMOUS, True, accounts.new_secret())
                     if config.no_auth else None)
        return cls(config, pool, StreamCatalog(config.restreamer_urls, config.catalog_max_age),
                   SignInThrottle(config.sign_in_limit, config.sign_in_window), anonymous)

    def known(self, wait):
        """What edits are checked against. `wait`: ask the restreamers if they never answered
        (a submit must know the streams: 503 if none answers); else use what is known."""
        streams = self.catalog.streams
        if wait:
            try:
                streams = self.catalog.get()
            except StreamsUnknown as e:
                raise ApiError(f"cannot check the stream: no restreamer answered ({e})", 503)
        return edits.Known(streams=streams, locations=tuple(self.config.locations),
                           max_duration=self.config.max_cut_duration)


def service():
    return current_app.extensions["editor"]


def current_user():
    svc = service()
    if svc.anonymous is not None:
        return svc.anonymous
    if "user" not in g:
        with svc.pool.connection() as conn:
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
        raise ApiError(f"missing or wrong {CSRF_HEADER} header (the csrf of GET /api/session)",
                       403)
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
