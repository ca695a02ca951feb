"""A running job's progress, written to event_progress (common.events.progress) for operators
and editors: at most every INTERVAL seconds, at once when the phase changes.

Progress is a courtesy: a failed write is logged (once per job) and never fails the job. The
reporter uses its own database connection, since the job's greenlet runs beside the loop that
uses the cutter's.
"""

import logging
import time

import gevent.lock
import psycopg2

from common.events import progress as event_progress
from common.dateutil import utcnow
from common.service import one_line
from uploader.backends import Spool

log = logging.getLogger(__name__)

INTERVAL = 5.0


class ProgressReporter:
    def __init__(self, db, event_id, uploader, interval=INTERVAL, clock=utcnow):
        self.db, self.event_id, self.uploader = db, event_id, uploader
        self.interval, self.clock = interval, clock
        self.started = clock()
        self.written = None  # (phase, percent) last written
        self.pending = None  # (phase, percent) to write when the interval is up
        self.last_write = 0.0  # monotonic
        self.flusher = None  # greenlet writing `pending` when the interval is up
        self.conn = None
        self.warned = False
        self.closed = False
        self.lock = gevent.lock.Semaphore()  # a cut's progress greenlet and the job both report

    def update(self, phase, percent):
        """The job is in `phase`, `percent` done (None: unknown). Written at once if the phase
        changed, else at most once per interval (the latest value then)."""
        if self.closed:
            return
        self.pending = (phase, percent)
        wait = self.last_write + self.interval - time.monotonic()
        if self.written is None or phase != self.written[0] or wait <= 0:
            self._flush()
        elif self.flusher is None:
            self.flusher = gevent.spawn_later(wait, self._flush)

    def _flush(self):
        with self.lock:
            if self.flusher is not None and self.flusher is not gevent.getcurrent():
                self.flusher.kill(block=False)
            self.flusher = None
            if self.pending is None:
                return
            (phase, percent), self.pending = self.pending, None
            self.written, self.last_write = (phase, percent), time.monotonic()
            self._write(lambda conn: event_progress.record(
                conn, self.event_id, self.uploader, phase, percent, self.started, self.clock()))

    def fraction_callback(self, phase):
        """A callback(done, total) for common.cuts and WatchedSpool, reporting `phase`."""
        def report(done, total):
            self.update(phase, 100.0 * done / total if total > 0 else None)
        return report

    def close(self):
        """The job ended (whatever its outcome): remove its progress."""
        self.closed = True
        with self.lock:
            if self.flusher is not None:
                self.flusher.kill(block=False)
            self.flusher = self.pending = None
            self._write(lambda conn: event_progress.clear(conn, self.event_id, self.uploader))
            if self.conn is not None:
                self._drop_conn()

    def _write(self, fn):
        while True:
            fresh = self.conn is None
            try:
                if fresh:
                    self.conn = self.db.get_conn()
                fn(self.conn)
                return
            except (psycopg2.Error, OSError) as e:
                # Only the database's errors: anything else (the job being killed with
                # Stopping or Abandoned) must reach the job.
                self._drop_conn()
                if fresh:  # else once more on a new connection (the old one may have broken)
                    self._warn(e)
                    return

    def _warn(self, e):
        if not self.warned:
            self.warned = True
            log.warning("event %s: cannot record the job's progress (the job goes on): %s",
                        self.event_id, one_line(e))

    def _drop_conn(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass


class WatchedSpool(Spool):
    """The same spooled cut (uploader.backends.Spool), reporting how far the backend has read
    it: report(bytes read up to, size). Closing it is the original's job."""

    def __init__(self, spool, report):
        super().__init__(spool.path)
        self.report = report

    def read(self, offset, length):
        data = super().read(offset, length)
        self.report(offset + len(data), self.size)
        return data

    def chunks(self, offset=0, **kwargs):
        for data in super().chunks(offset, **kwargs):
            offset += len(data)
            self.report(offset, self.size)
            yield data

    def close(self):
        pass
