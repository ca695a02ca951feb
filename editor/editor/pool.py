"""A small pool of Postgres connections for request greenlets (a connection serves one
greenlet at a time). At most `size` connections exist; a request beyond that waits for one.
A connection that broke (closed, or a connection-level error) is dropped, not reused, and so
are the idle ones: they went through the same server."""

from contextlib import contextmanager

import gevent.lock
import psycopg2


class ConnectionPool:
    def __init__(self, db, size=8):
        self.db = db  # common.database.DBManager
        self.size = size
        self._slots = gevent.lock.BoundedSemaphore(size)
        self._idle = []

    @contextmanager
    def connection(self):
        with self._slots:
            conn = self._idle.pop() if self._idle else self.db.get_conn()
            try:
                yield conn
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                # The server went away (restart, failover): the idle ones are dead too.
                conn.close()
                self.close()
                raise
            finally:
                if not conn.closed:
                    self._idle.append(conn)

    def close(self):
        while self._idle:
            self._idle.pop().close()
