"""/api/session: sign in (token -> session cookie), who am I (+ CSRF token), sign out."""

import logging
import time

import prometheus_client as prom
from flask import Blueprint, jsonify, request

from . import accounts
from .fields import ApiError
from .web import SESSION_COOKIE, json_body, service, signed_in, writer

log = logging.getLogger(__name__)
blueprint = Blueprint("session", __name__)

sign_ins = prom.Counter("editor_sign_ins", "Sign-in attempts by result", ["result"])
for _result in ("ok", "unknown_token", "throttled"):
    sign_ins.labels(_result)


def session_json(user):
    return {"editor": user.name, "admin": user.admin, "csrf": user.csrf}


@blueprint.route("/api/session", methods=["GET"])
def get_session():
    return session_json(signed_in())


@blueprint.route("/api/session", methods=["POST"])
def sign_in():
    svc = service()
    if svc.anonymous is not None:
        return session_json(svc.anonymous)
    body = json_body()
    address = request.remote_addr or "unknown"
    wait = svc.throttle.retry_after(address, time.monotonic())
    if wait > 0:
        sign_ins.labels("throttled").inc()
        seconds = int(wait) + 1
        response = jsonify({"error": f"too many failed sign-ins from {address}; try again in "
                                     f"{seconds} s"})
        response.status_code = 429
        response.headers["Retry-After"] = str(seconds)
        return response
    with svc.pool.connection() as conn:
        result = accounts.sign_in(conn, body.get("token"), svc.config.session_lifetime)
    if result is None:
        svc.throttle.failed(address, time.monotonic())
        sign_ins.labels("unknown_token").inc()
        log.info("failed sign-in from %s", address)
        raise ApiError("unknown token", 401)
    secret, user = result
    sign_ins.labels("ok").inc()
    log.info("%s signed in from %s", user.name, address)
    response = jsonify(session_json(user))
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=int(svc.config.session_lifetime.total_seconds()),
        httponly=True, samesite="Strict", path="/",
        secure=svc.config.secure_cookie or request.is_secure)
    return response


@blueprint.route("/api/session", methods=["DELETE"])
def sign_out():
    writer()
    svc = service()
    if svc.anonymous is None:
        with svc.pool.connection() as conn:
            accounts.sign_out(conn, request.cookies.get(SESSION_COOKIE))
    response = jsonify({"signed_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict")
    return response
