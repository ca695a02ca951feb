"""Postgres access shared by every service.

    db = DBManager(args.database)          # a libpq URI or key=value DSN
    conn = db.get_conn()                   # schema applied on the first call
    rows = query(conn, "SELECT name, url FROM nodes WHERE backfill_from = %s", True).fetchall()

Connections are:
- gevent-cooperative: a psycopg2 wait callback parks the greenlet on the socket instead of
  blocking the process (one connection per greenlet: never share one between greenlets that
  may use it at the same time);
- autocommit, SERIALIZABLE: every statement is its own transaction, and the server behaves as
  if all transactions ran one after the other in some order;
- returning rows as named tuples (`row.name`, still indexable).
A greenlet killed mid-query (or a gevent.Timeout) leaves its connection closed: get a new one.

Multi-statement work runs in one transaction. Under SERIALIZABLE the server may abort one of
two conflicting transactions (SQLSTATE 40001, or 40P01 for a deadlock): that is expected, and
the whole transaction must then run again from the start. Three forms:

    # 1. A function, retried as a whole (preferred):
    def claim(cur):
        cur.execute("SELECT state FROM events WHERE id = %s", (event_id,))
        ...
        return result
    result = run_transaction(conn, claim)            # retries=5 by default

    # 2. A loop of attempts, when a function is awkward:
    for attempt in retrying(conn):
        with attempt as cur:
            cur.execute(...)

    # 3. A single attempt (the caller handles psycopg2.errors.SerializationFailure):
    with transaction(conn) as cur:
        cur.execute(...)

The retried code must not have effects outside the database that cannot be repeated (it may
run several times), and must read what it needs inside the transaction. An exception other
than a serialization failure or deadlock rolls back and propagates at once.

The schema (common/schema.sql, package data; postgres/schema.sql links to it) is idempotent
and applied once per DBManager, at its first connection, in one transaction holding an
advisory lock so that services starting together do not race. It therefore must not contain
statements that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM).
"""

import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import gevent
import gevent.lock
import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from gevent.socket import wait_read, wait_write
from prometheus_client import Counter

log = logging.getLogger(__name__)
T = TypeVar("T")

# pg_advisory_xact_lock key for applying the schema: any fixed number no other code uses.
SCHEMA_LOCK_KEY = 0x5E6_A2C4_1FE
RETRYABLE = {"40001": "serialization_failure", "40P01": "deadlock"}

transaction_retries = Counter(
    "database_transaction_retries", "Transactions run again after a conflict", ["reason"])
transaction_failures = Counter(
    "database_transaction_conflicts_exhausted",
    "Transactions that still conflicted after all their retries", ["reason"])


class DatabaseUnavailable(psycopg2.OperationalError):
    """The database could not be reached; the message names host and database, never the
    password."""


def gevent_wait_callback(conn: psycopg2.extensions.connection,
                         timeout: float | None = None) -> None:
    """psycopg2 wait callback: poll the connection, parking the greenlet (not the process)
    while the socket is not ready."""
    while True:
        state = conn.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        if state == psycopg2.extensions.POLL_READ:
            wait_read(conn.fileno(), timeout=timeout)
        elif state == psycopg2.extensions.POLL_WRITE:
            wait_write(conn.fileno(), timeout=timeout)
        else:
            raise psycopg2.OperationalError(f"unexpected state from conn.poll(): {state}")


def make_cooperative() -> None:
    """Make every psycopg2 connection in this process gevent-cooperative (idempotent)."""
    if psycopg2.extensions.get_wait_callback() is not gevent_wait_callback:
        psycopg2.extensions.set_wait_callback(gevent_wait_callback)


def describe_dsn(dsn: str) -> str:
    """'dbname on host:port as user', for error messages: never the password."""
    try:
        params = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        return "(unparseable DSN)"
    host = params.get("host") or params.get("hostaddr") or "local socket"
    port = params.get("port", "5432")
    where = f"database {params.get('dbname', '(default)')!r} on {host}:{port}"
    return f"{where} as {params['user']!r}" if "user" in params else where


def packaged_schema() -> str:
    # Next to this module (package data), found via __file__ rather than
    # importlib.resources.files("common"): under pytest, tests/common can shadow the name.
    return (Path(__file__).parent / "schema.sql").read_text(encoding="utf-8")


class DBManager:
    """Makes connections to one database and applies the schema once, on the first.

    `schema`: None applies common/schema.sql; a string applies that SQL instead; False applies
    nothing (for tools that must not change the database).
    """

    def __init__(self, dsn: str, connect_timeout: float = 10, schema: str | bool | None = None):
        try:
            psycopg2.extensions.parse_dsn(dsn)
        except psycopg2.ProgrammingError as e:
            raise ValueError(f"bad database DSN: {str(e).strip()}") from None
        self.dsn, self.connect_timeout, self.schema = dsn, connect_timeout, schema
        self.schema_applied = schema is False
        # Held across I/O: a gevent lock, so it never blocks the thread (monkey-patched or not).
        self._schema_lock = gevent.lock.Semaphore()
        make_cooperative()

    def get_conn(self) -> psycopg2.extensions.connection:
        """A new connection (autocommit, SERIALIZABLE, named-tuple rows); applies the schema
        first if this manager has not yet. Raises DatabaseUnavailable if it cannot connect."""
        conn = self._connect()
        if not self.schema_applied:
            try:
                self._apply_schema(conn)
            except BaseException:
                conn.close()
                raise
        return conn

    def _connect(self):
        # libpq ignores connect_timeout for non-blocking connects, which the wait callback
        # makes every connect: enforce it here.
        timeout = gevent.Timeout(self.connect_timeout)
        try:
            with timeout:
                conn = psycopg2.connect(
                    self.dsn, cursor_factory=psycopg2.extras.NamedTupleCursor,
                    connect_timeout=max(1, math.ceil(self.connect_timeout)))
        except gevent.Timeout as e:
            if e is not timeout:
                raise
            raise DatabaseUnavailable(f"cannot connect to {describe_dsn(self.dsn)}: no answer"
                                      f" within {self.connect_timeout}s") from None
        except psycopg2.OperationalError as e:
            # One line, libpq's lines kept apart: "Connection refused; Is the server running...".
            lines = (" ".join(line.split()) for line in str(e).splitlines())
            reason = "; ".join(line for line in lines if line) or type(e).__name__
            raise DatabaseUnavailable(
                f"cannot connect to {describe_dsn(self.dsn)}: {reason}") from None
        conn.set_session(isolation_level="SERIALIZABLE", autocommit=True)
        return conn

    def _apply_schema(self, conn):
        with self._schema_lock:  # greenlets sharing this manager apply it once
            if self.schema_applied:
                return
            sql = self.schema if isinstance(self.schema, str) else packaged_schema()
            started = time.monotonic()
            apply_schema(conn, sql)
            log.info("database schema applied to %s in %.2fs", describe_dsn(self.dsn),
                     time.monotonic() - started)
            self.schema_applied = True


def apply_schema(conn: psycopg2.extensions.connection, sql: str) -> None:
    """Run idempotent schema SQL in one transaction under the schema advisory lock.

    READ COMMITTED, not SERIALIZABLE: a serializable transaction's snapshot is taken by its
    first statement, the one waiting for the lock, so it would not see what the previous
    holder created (and would try to create it again)."""
    def run(cur):
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        cur.execute(sql)
    run_transaction(conn, run, isolation="READ COMMITTED")


def query(conn: psycopg2.extensions.connection, sql: str, *args: object,
          **kwargs: object) -> psycopg2.extensions.cursor:
    """Execute one statement and return the cursor. Parameters are positional (%s) or named
    (%(name)s), not both; with parameters, a literal % is written %%."""
    if args and kwargs:
        raise TypeError("query() takes positional or named parameters, not both")
    cur = conn.cursor()
    cur.execute(sql, args or kwargs or None)
    return cur


ISOLATION_LEVELS = {"SERIALIZABLE", "REPEATABLE READ", "READ COMMITTED"}


@contextmanager
def transaction(conn: psycopg2.extensions.connection,
                isolation: str = "SERIALIZABLE") -> Iterator[psycopg2.extensions.cursor]:
    """One attempt at a transaction: yields a cursor; commits if the block completes, rolls
    back if it raises. A conflict surfaces as psycopg2.errors.SerializationFailure or
    DeadlockDetected (from the block or from the commit): see retrying()/run_transaction()."""
    if not conn.autocommit:
        raise ValueError("transaction() needs an autocommit connection (DBManager's are)")
    if isolation not in ISOLATION_LEVELS:
        raise ValueError(f"unknown isolation level {isolation!r}")
    cur = conn.cursor()
    cur.execute(f"BEGIN ISOLATION LEVEL {isolation}")
    try:
        yield cur
    except BaseException:
        _rollback(conn, cur)
        raise
    cur.execute("COMMIT")  # a serialization failure here has already rolled back
    if cur.statusmessage != "COMMIT":
        # The block swallowed a statement's error: the server rolled everything back.
        raise psycopg2.InternalError("transaction was aborted by an earlier error in it and"
                                     " rolled back; nothing was committed")


def _rollback(conn, cur):
    if conn.closed:
        return
    try:
        cur.execute("ROLLBACK")
    except psycopg2.Error as e:
        # The original error matters more; the connection is likely broken anyway.
        log.warning("rollback failed: %s", str(e).strip())


def retry_reason(exc: BaseException) -> str | None:
    """'serialization_failure' / 'deadlock' if exc is a conflict worth retrying, else None."""
    return RETRYABLE.get(getattr(exc, "pgcode", None))


def note_conflict(exc: BaseException, what: str, logger: logging.Logger = log) -> bool:
    """For code that retries a statement itself: if exc is a conflict (another transaction
    changed the same rows first; psycopg2 raises it as an OperationalError, like a lost
    connection), count it as retried, log that `what` is retried, and return True. False for
    any other error, which the caller handles as a database problem."""
    reason = retry_reason(exc)
    if reason is None:
        return False
    transaction_retries.labels(reason).inc()
    logger.info("%s conflicted with a concurrent change (%s); retrying", what, reason)
    return True


class Attempt:
    """One try of retrying(): a context manager yielding a cursor in a transaction."""

    def __init__(self, conn: psycopg2.extensions.connection, number: int, retries: int,
                 isolation: str) -> None:
        self.conn, self.number, self.retries = conn, number, retries
        self.isolation = isolation
        self.succeeded = False
        self.reason = None
        self._tx = None

    def __enter__(self) -> psycopg2.extensions.cursor:
        self._tx = transaction(self.conn, self.isolation)
        return self._tx.__enter__()

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            try:
                self._tx.__exit__(None, None, None)  # commits
            except psycopg2.Error as e:
                if self._will_retry(e):
                    return False  # the block ended without error: nothing to swallow
                raise
            self.succeeded = True
            return False
        self._tx.__exit__(exc_type, exc, tb)  # rolls back (never swallows)
        return self._will_retry(exc)  # True swallows it: retrying() runs the block again

    def _will_retry(self, exc):
        self.reason = retry_reason(exc)
        if self.reason is None:
            return False
        if self.number >= self.retries:
            transaction_failures.labels(self.reason).inc()
            log.warning("transaction still conflicting (%s) after %d retries, giving up",
                        self.reason, self.retries)
            return False
        return True


def retrying(conn: psycopg2.extensions.connection, retries: int = 5, backoff: float = 0.01,
             isolation: str = "SERIALIZABLE") -> Iterator[Attempt]:
    """Yield transaction attempts until one commits: up to 1 + `retries`, with a jittered
    exponential pause between them (backoff, 2*backoff, ... seconds, times 0.5-1.5). The last
    attempt's conflict propagates."""
    number = 0
    while True:
        attempt = Attempt(conn, number, retries, isolation)
        yield attempt
        if attempt.succeeded:
            return
        if attempt.reason is None:
            raise RuntimeError("retrying(): each attempt must be used as `with attempt as cur`")
        transaction_retries.labels(attempt.reason).inc()
        log.debug("transaction conflict (%s), retry %d of %d", attempt.reason, number + 1,
                  retries)
        gevent.sleep(backoff * (2 ** number) * random.uniform(0.5, 1.5))
        number += 1


def run_transaction(conn: psycopg2.extensions.connection,
                    fn: Callable[[psycopg2.extensions.cursor], T], retries: int = 5,
                    backoff: float = 0.01, isolation: str = "SERIALIZABLE") -> T:
    """Call fn(cursor) in a transaction and return its result, running it again (from the
    start, in a new transaction) on a serialization failure or deadlock, up to `retries`
    times."""
    for attempt in retrying(conn, retries, backoff, isolation):
        with attempt as cur:
            result = fn(cur)
    return result
