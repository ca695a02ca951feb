"""Editor accounts and sign-in sessions in Postgres (tables editor_users, editor_sessions).

A login token is a random 256-bit secret shown once when the account is made; only its SHA-256
is stored, so the database never holds a usable token. Signing in exchanges it for a session:
a second random secret in an HttpOnly cookie (again only its hash is stored) and a CSRF token
the page sends back as a header with every write. Removing an account ends its sessions.
"""

import hashlib
import re
import secrets
from datetime import timedelta
from typing import NamedTuple

import psycopg2.errors

from common import database
from common.dateutil import utcnow

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
NAME_RULE = "1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit"


class AccountError(Exception):
    pass


class User(NamedTuple):
    name: str
    admin: bool
    csrf: str  # of the session the request came with


def _hash(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret():
    return secrets.token_urlsafe(32)


def add_user(conn, name, admin=False):
    """Create an account; returns its login token (the only time it exists in clear)."""
    if not NAME_RE.match(name):
        raise AccountError(f"bad user name {name!r}: {NAME_RULE}")
    token = new_secret()
    try:
        database.query(conn, "INSERT INTO editor_users (name, token_hash, admin) "
                             "VALUES (%s, %s, %s)", name, _hash(token), admin)
    except psycopg2.errors.UniqueViolation:
        raise AccountError(f"user {name!r} exists already (remove it first to issue a new "
                           "token)") from None
    return token


def list_users(conn):
    """[(name, admin, created, active sessions)], by name."""
    return database.query(conn, """
        SELECT u.name, u.admin, u.created,
               count(s.id_hash) FILTER (WHERE s.expires > %s) AS sessions
        FROM editor_users u LEFT JOIN editor_sessions s ON s.editor = u.name
        GROUP BY u.name ORDER BY u.name
    """, utcnow()).fetchall()


def remove_user(conn, name):
    """Delete the account and (by the foreign key) every session of it."""
    cur = database.query(conn, "DELETE FROM editor_users WHERE name = %s", name)
    if cur.rowcount != 1:
        raise AccountError(f"no user {name!r}")


def sign_in(conn, token, lifetime):
    """Token -> (session secret, User), or None for an unknown token. Expired sessions of
    everyone are deleted on the way, so the table holds only live ones."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    now = utcnow()
    row = database.query(conn, "SELECT name, admin FROM editor_users WHERE token_hash = %s",
                         _hash(token)).fetchone()
    if row is None:
        return None
    session, csrf = new_secret(), new_secret()
    database.query(conn, "DELETE FROM editor_sessions WHERE expires <= %s", now)
    database.query(conn, """
        INSERT INTO editor_sessions (id_hash, editor, csrf, created, expires)
        VALUES (%s, %s, %s, %s, %s)
    """, _hash(session), row.name, csrf, now, now + lifetime)
    return session, User(row.name, row.admin, csrf)


def session_user(conn, session):
    """The User of a live session cookie, or None."""
    if not session or len(session) > 200:
        return None
    row = database.query(conn, """
        SELECT u.name, u.admin, s.csrf FROM editor_sessions s
        JOIN editor_users u ON u.name = s.editor
        WHERE s.id_hash = %s AND s.expires > %s
    """, _hash(session), utcnow()).fetchone()
    return User(row.name, row.admin, row.csrf) if row else None


def sign_out(conn, session):
    if session:
        database.query(conn, "DELETE FROM editor_sessions WHERE id_hash = %s", _hash(session))


DEFAULT_SESSION_LIFETIME = timedelta(hours=24)
