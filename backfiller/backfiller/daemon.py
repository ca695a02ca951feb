"""Runs the peer workers: one greenlet per peer (a slow peer never holds up the others), the
peer list re-read every few minutes, and optional pruning of old hours."""

import logging
import time

import gevent

from common.dateutil import utcnow
from common.fs import jitter
from common.service import one_line

from . import metrics
from .local import prune_old_hours, recover_leftover_temp_files
from .peers import merge_peers, read_database_nodes, read_node_file
from .schedule import SWEEP, earliest_wanted
from .worker import InFlight, PeerWorker

log = logging.getLogger(__name__)

# After a peer source failed to read (Postgres still starting next to us, say), the next read
# comes this soon, doubling up to --node-refresh: not a whole refresh without peers.
READ_RETRY = 5.0


class PeerSources:
    """The merged peer list from --node, --node-file and the database.

    read() keeps the last good list of a source that fails (a database restart must not make
    the backfiller forget its peers); with strict=True a failing source raises instead."""

    def __init__(self, cli_peers=(), node_file=None, dsn=None, localhost=None):
        self.cli_peers, self.node_file, self.localhost = list(cli_peers), node_file, localhost
        self.dsn = dsn
        self._db = None
        self._conn = None
        self._last = {"file": [], "database": []}
        self.failing = False  # a source failed at the last read

    def read(self, strict=False):
        self.failing = False
        sources = [self.cli_peers]
        if self.node_file:
            sources.append(self._read("file", lambda: read_node_file(self.node_file), strict))
        if self.dsn:
            sources.append(self._read("database", self._read_database, strict))
        return merge_peers(sources, self.localhost)

    def _read(self, source, reader, strict):
        try:
            self._last[source] = reader()
        except Exception as e:
            if strict:
                raise
            self.failing = True
            metrics.node_refresh_errors.labels(source).inc()
            log.error("cannot read the peer list from the %s (keeping the last good one, "
                      "%d peers): %s", source, len(self._last[source]), one_line(e))
        return self._last[source]

    def _read_database(self):
        from common.database import DBManager
        if self._db is None:
            self._db = DBManager(self.dsn)
        if self._conn is None or self._conn.closed:
            self._conn = self._db.get_conn()
        try:
            return read_database_nodes(self._conn)
        except Exception:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except Exception:
                pass
            raise


class Backfiller:
    """The daemon: keeps one worker greenlet per current peer until `stop` is set."""

    def __init__(self, settings, sources, make_client, pass_interval, node_refresh,
                 clock=utcnow):
        self.settings, self.sources, self.make_client = settings, sources, make_client
        self.pass_interval, self.node_refresh = pass_interval, node_refresh
        self.clock = clock
        self.in_flight = InFlight()
        self.workers = {}  # Peer -> greenlet
        self.last_prune = None
        self.warned_no_peers = False

    def run(self, stop):
        recovery = gevent.spawn(self._recovery_loop, stop)
        retry = READ_RETRY
        try:
            while not stop.is_set():
                self.sync(self.sources.read(), stop)
                self._maybe_prune()
                if getattr(self.sources, "failing", False):
                    wait, retry = min(retry, self.node_refresh), retry * 2
                else:
                    wait, retry = self.node_refresh, READ_RETRY
                stop.wait(jitter(wait))
        finally:
            recovery.kill()
            gevent.killall(list(self.workers.values()), timeout=10)
            self.workers.clear()

    def sync(self, peers, stop):
        """Start workers for new peers, stop those of peers no longer listed."""
        current = set(peers)
        had_peers = bool(self.workers)
        for peer in set(self.workers) - current:
            log.info("no longer backfilling from %s (%s)", peer.name, peer.url)
            self.workers.pop(peer).kill(block=False)
            if not any(p.name == peer.name for p in current):  # not merely a new URL
                metrics.forget_peer(peer.name)
        for peer in sorted(current - set(self.workers)):
            log.info("backfilling from %s (%s)", peer.name, peer.url)
            worker = PeerWorker(peer, self.make_client(peer), self.settings, self.in_flight,
                                self.clock)
            self.workers[peer] = gevent.spawn(self._loop, worker, stop)
        if not current and (had_peers or not self.warned_no_peers):
            log.warning("no peers to backfill from; waiting for the peer list to change")
            self.warned_no_peers = True
        metrics.peers_configured.set(len(current))

    def _loop(self, worker, stop):
        while not stop.is_set():
            try:
                worker.run_pass()
            except Exception:
                # A bug, not a peer problem (those are handled inside the pass): keep going.
                log.exception("backfill pass from %s crashed", worker.peer.name)
            stop.wait(jitter(self.pass_interval))

    def _recovery_loop(self, stop):
        """Recover at start-up, then every sweep interval: a writer killed just before we
        started left temp files too young to be sure of at first, which must not stay
        invisible for good."""
        while True:
            try:
                self._recover()
            except Exception:
                log.exception("recovering leftover temp files failed")
            if stop.wait(self.settings.sweep_interval.total_seconds()):
                return

    def _recover(self):
        earliest = earliest_wanted(self.clock(), self.settings.start,
                                   self.settings.delete_older_than)
        recover_leftover_temp_files(self.settings.base_dir, self.settings.streams,
                                    self.settings.variants, earliest,
                                    min_age=self.settings.temp_min_age)

    def _maybe_prune(self):
        older = self.settings.delete_older_than
        now = time.monotonic()
        if older is None or (self.last_prune is not None and
                             now - self.last_prune < self.settings.sweep_interval.total_seconds()):
            return
        self.last_prune = now
        prune_old_hours(self.settings.base_dir, self.clock() - older, self.settings.streams,
                        self.settings.variants)


def run_once(settings, peers, make_client, clock=utcnow):
    """One sweep over every peer at once; returns their PassResults."""
    recover_leftover_temp_files(settings.base_dir, settings.streams, settings.variants,
                                earliest_wanted(clock(), settings.start,
                                                settings.delete_older_than),
                                min_age=settings.temp_min_age)
    if settings.delete_older_than is not None:
        prune_old_hours(settings.base_dir, clock() - settings.delete_older_than,
                        settings.streams, settings.variants)
    in_flight = InFlight()
    workers = [PeerWorker(peer, make_client(peer), settings, in_flight, clock) for peer in peers]
    jobs = [gevent.spawn(worker.run_pass, SWEEP) for worker in workers]
    try:
        gevent.joinall(jobs, raise_error=True)
    finally:
        gevent.killall(jobs)
    return [job.value for job in jobs]
