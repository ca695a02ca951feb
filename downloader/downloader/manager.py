"""One manager per stream: keeps a worker on every wanted variant, replaces troubled workers
(new one first, old one retired once the new one sees content), and fetches each segment once."""

import logging
import os
import time
from collections import OrderedDict
from datetime import timedelta

import gevent
import gevent.event
import gevent.pool
import requests

from common import renditions
from common.recent import RecentSet
from common.segment_files import recover_temp_files
from common.segments import (format_hour_path, name_type, names_starting_at, parse_hour,
                             read_hour)

from . import metrics
from .download import Downloader, error_kind
from .problems import Complaints
from .sources import Offline
from .anchors import Anchors
from .variants import select_variants
from .worker import Worker

log = logging.getLogger(__name__)

# How many segment jobs to remember for de-duplication (hours of 2-second segments per variant;
# workers only ever see the last few minutes).
JOB_MEMORY = 5000
# Replacement workers are started at most this often, backing off to the maximum while each
# replacement fails too (a playlist URL that keeps failing must not spawn workers in a loop).
MIN_REPLACE_DELAY = 1
MAX_REPLACE_DELAY = 30
# Hour directories remembered as recovered (a few hours of every variant; one forgotten is
# only listed once more).
RECOVERED_HOURS_MEMORY = 256
# A temp file untouched this long has lost its writer (ours are written to every few seconds).
TEMP_MIN_AGE = timedelta(minutes=5)


class Job:
    def __init__(self, job):
        self.job = job
        self.result = None
        self.greenlet = None
        # The same segment offered by another worker (another URL, or trusted where this one
        # is not) while this job ran: fetched if this job ends without a good copy.
        self.alternative = None

    @property
    def running(self):
        return self.greenlet is not None and not self.greenlet.dead


def better_trusted(old, new):
    """The new offer comes from a worker whose start times are trusted, the old one's not."""
    return old.force_suspect and not new.force_suspect


def worth_refetching(state, job):
    """Whether a finished fetch (state) leaves room for this offer of the same segment: a
    trusted copy where only a skew-marked one was stored, or any other URL (or byte range)
    where the fetch stored no complete copy (its URL expired with its worker's playlist, or kept
    breaking)."""
    if state.result == "full":
        return False
    if better_trusted(state.job, job):
        return True
    return state.result != "suspect" and job.id != state.job.id


class StreamManager:
    def __init__(self, stream, source, qualities, base_dir, session=None, suspect_after=59,
            retry_deadline=20 * 60, offline_poll_interval=20, master_max_age=None,
            stop_timeout=15, first_retry_delay=0.5, temp_min_age=TEMP_MIN_AGE,
            recovery_interval=60, peers=()):
        self.stream = stream
        self.source = source
        self.qualities = qualities
        self.base_dir = base_dir
        self.session = session or requests.Session()
        self.complaints = Complaints(stream)
        self.downloader = Downloader(self.session, base_dir, suspect_after, retry_deadline,
            first_retry_delay=first_retry_delay, complaints=self.complaints)
        # Where runs of segments without program date times find their timeline.
        self.anchors = Anchors(self, peers)
        self.renditions_wanted = []  # audio renditions the wanted variants play with
        self.subtitles_noted = False
        self.offline_poll_interval = offline_poll_interval
        self.master_max_age = master_max_age or source.master_max_age
        self.stop_timeout = stop_timeout
        self.workers = {}            # variant -> [Worker], oldest first
        self.replace = set()         # variants whose newest worker asked for a replacement
        self.jobs = OrderedDict()    # (variant, start) -> Job
        self.downloads = gevent.pool.Group()
        self.wakeup = gevent.event.Event()
        self.stopping = gevent.event.Event()
        self.master_fetched_at = None
        self.recovered_hours = RecentSet(RECOVERED_HOURS_MEMORY)
        self.temp_min_age = temp_min_age
        self.recovery_interval = recovery_interval
        self.live = None
        self.replace_after = 0       # monotonic time before which no replacement is started
        self.replace_delay = MIN_REPLACE_DELAY

    # --- called by workers ---

    def trigger_new_worker(self, worker):
        workers = self.workers.get(worker.variant, [])
        if workers and workers[-1] is worker:
            if not worker.saw_content and len(workers) > 1:
                # A replacement that failed before seeing anything: back off.
                self.replace_delay = min(self.replace_delay * 2, MAX_REPLACE_DELAY)
            self.replace.add(worker.variant)
            self.wakeup.set()

    def worker_working(self, worker):
        """The worker has seen real content: retire every older worker of its variant."""
        self.replace_delay = MIN_REPLACE_DELAY
        for old in list(self.workers.get(worker.variant, [])):
            if old is worker:
                break
            log.info("retiring %r, replaced by %r", old, worker)
            old.stop()

    def worker_stopped(self, worker):
        workers = self.workers.get(worker.variant, [])
        if worker in workers:
            workers.remove(worker)
        if not workers and not self.stopping.is_set():
            if worker.ended:
                log.info("%s %s: stream ended; watching for a restart", self.stream,
                    worker.variant)
            self.wakeup.set()

    def submit(self, job):
        """Fetch a segment unless an equal one is already fetched or being fetched."""
        key = (job.variant, job.start)
        self.anchors.note(job)
        existing = self.jobs.get(key)
        if existing is not None:
            if existing.running:
                if job.id != existing.job.id or better_trusted(existing.job, job):
                    existing.alternative = job
                metrics.duplicates_skipped.labels(self.stream, job.variant).inc()
                return None
            if not worth_refetching(existing, job):
                metrics.duplicates_skipped.labels(self.stream, job.variant).inc()
                return None
        elif self.stored_full(job):
            log.debug("%s %s segment at %s already stored; not fetching again",
                self.stream, job.variant, job.start)
            return None
        self.recover_hour(job)
        state = Job(job)
        self.remember(key, state)
        state.greenlet = self.downloads.spawn(self.run_job, state)
        return state

    def anchor(self, job):
        """The first segment of a run without program date times (anchors.Anchors.anchor)."""
        return self.anchors.anchor(job)

    def remember_done(self, job, result):
        """A segment fetched outside submit (an anchor's): not to be fetched again."""
        state = Job(job)
        state.result = result
        self.remember((job.variant, job.start), state)

    def remember(self, key, state):
        self.jobs[key] = state
        self.jobs.move_to_end(key)
        while len(self.jobs) > JOB_MEMORY:
            self.jobs.popitem(last=False)

    def run_job(self, state):
        while True:
            try:
                state.result = self.downloader.fetch(state.job) or state.result
            except Exception:
                log.exception("fetching %s %s segment at %s failed", self.stream,
                    state.job.variant, state.job.start)
            alternative, state.alternative = state.alternative, None
            if alternative is None or self.stopping.is_set() \
                    or not worth_refetching(state, alternative):
                return
            log.info("%s %s segment at %s: no good copy from %s; trying %s", self.stream,
                alternative.variant, alternative.start, state.job.uri, alternative.uri)
            state.job = alternative

    # --- the archive ---

    def hour_path(self, variant, start):
        return format_hour_path(self.base_dir, self.stream, variant, start)

    def stored_full(self, job):
        names = read_hour(self.hour_path(job.variant, job.start)) or ()
        return any(name_type(name) == "full" for name in names_starting_at(names, job.start))

    def recover_hour(self, job):
        """Once per hour directory we write into: turn a dead writer's temp files into partials."""
        path = self.hour_path(job.variant, job.start)
        if path in self.recovered_hours:
            return
        self.recovered_hours.add(path)
        self.recover_in(path)

    def recover_in(self, path):
        recover_temp_files(path, min_age=self.temp_min_age)  # logs each file it recovers

    def recover_recent(self):
        """Recover temp files in the last two hours of every variant on disk. Run at start-up
        and then periodically: a writer killed just before we started left temp files too
        young to be sure of at first, which must not stay invisible for good."""
        stream_dir = os.path.join(self.base_dir, self.stream)
        if not os.path.isdir(stream_dir):
            return
        for variant in os.listdir(stream_dir):
            variant_dir = os.path.join(stream_dir, variant)
            if variant.startswith(".") or not os.path.isdir(variant_dir):
                continue
            hours = []
            for name in os.listdir(variant_dir):
                try:
                    hours.append((parse_hour(name), name))
                except ValueError:  # variant.json, anything else not an hour
                    continue
            for _, hour in sorted(hours)[-2:]:
                path = os.path.join(variant_dir, hour)
                self.recovered_hours.add(path)
                self.recover_in(path)

    def recovery_loop(self):
        while not self.stopping.wait(self.recovery_interval):
            try:
                self.recover_recent()
            except OSError as e:
                log.warning("could not recover temp files under %s: %s", self.base_dir, e)

    # --- the manager loop ---

    def run(self):
        log.info("following %s as stream %r (qualities %s)", self.source.describe(),
            self.stream, ",".join(self.qualities))
        metrics.init_stream(self.stream)
        try:
            self.recover_recent()
        except OSError as e:
            log.warning("could not recover temp files under %s: %s", self.base_dir, e)
        loops = [gevent.spawn(self.recovery_loop), gevent.spawn(self.anchors.settle_loop)]
        try:
            self.follow()
        finally:
            gevent.killall(loops)

    def follow(self):
        error_delay = 1
        while not self.stopping.is_set():
            self.wakeup.clear()
            wait = self.next_check()
            if wait <= 0:
                try:
                    wait = self.refresh()
                    error_delay = 1
                except Offline as e:
                    self.set_live(False, e)
                    wait = self.offline_poll_interval
                except (requests.RequestException, ValueError) as e:
                    kind = "invalid" if isinstance(e, ValueError) else error_kind(e)
                    metrics.playlist_errors.labels(self.stream, "master", kind).inc()
                    log.warning("%s: fetching the master playlist failed: %s; retrying in %ds",
                        self.stream, e, error_delay)
                    wait = error_delay
                    error_delay = min(error_delay * 2, self.offline_poll_interval)
                except Exception:
                    # A bug or an input nobody foresaw: never stop following the stream.
                    metrics.playlist_errors.labels(self.stream, "master", "unexpected").inc()
                    log.exception("%s: unexpected error handling the master playlist;"
                        " retrying in %ds", self.stream, error_delay)
                    wait = error_delay
                    error_delay = min(error_delay * 2, self.offline_poll_interval)
            self.wakeup.wait(wait)

    def next_check(self):
        """Seconds until the master playlist must be fetched (<= 0: now)."""
        if self.master_fetched_at is None:
            return 0
        if self.replace:
            return self.replace_after - time.monotonic()
        if any(not self.workers.get(v) for v in self.wanted_variants()):
            return self.master_fetched_at + self.offline_poll_interval - time.monotonic()
        # Variant URLs expire: replace each worker before its URL gets too old.
        oldest = min(workers[-1].started_at for workers in self.workers.values() if workers)
        return oldest + self.master_max_age - time.monotonic()

    def wanted_variants(self):
        if "all" in self.qualities:
            return list(self.workers) or ["all"]
        return self.qualities + self.renditions_wanted

    def refresh(self):
        """Fetch the master playlist and start the workers that are needed."""
        master = self.source.get_master()
        variants = master.variants
        self.master_fetched_at = time.monotonic()
        self.set_live(True)
        if master.subtitles and not self.subtitles_noted:
            self.subtitles_noted = True
            log.info("%s: the master playlist lists %d subtitles rendition(s); subtitles are not"
                " recorded", self.stream, master.subtitles)
        chosen, missing = select_variants(variants, self.qualities)
        self.renditions_wanted = [name for name in chosen if name not in self.qualities]
        if missing:
            log.warning("%s: variants %s not in the master playlist (it has %s); will look"
                " again in %ss", self.stream, ",".join(missing),
                ",".join(v.name for v in variants), self.offline_poll_interval)
        for name, variant in chosen.items():
            workers = self.workers.setdefault(name, [])
            expired = workers and \
                self.master_fetched_at - workers[-1].started_at >= self.master_max_age
            if not workers or name in self.replace or expired:
                if workers:
                    log.info("%s %s: starting a new worker beside %r", self.stream, name,
                        workers[-1])
                self.describe_variant(variant)
                self.start_worker(name, variant.url)
        if self.replace:
            self.replace_after = time.monotonic() + self.replace_delay
        self.replace.clear()
        return self.offline_poll_interval if missing else self.next_check()

    def describe_variant(self, variant):
        """Write the variant.json that ties separate audio to its video (common.renditions)."""
        if variant.rendition is not None:
            info = variant.rendition
        elif variant.audio:
            info = renditions.video_info(variant.audio)
        else:
            return
        path = os.path.join(self.base_dir, self.stream, variant.name)
        try:
            if renditions.write_info(path, info):
                log.info("%s %s: %s", self.stream, variant.name, "an audio rendition" if
                    variant.rendition else f"plays with separate audio {', '.join(variant.audio)}")
        except (OSError, ValueError) as e:   # ValueError: the master's names do not fit it
            log.error("%s %s: cannot write %s: %s", self.stream, variant.name,
                renditions.INFO_FILE, e)

    def start_worker(self, name, url):
        # Replacements that failed without ever seeing content are of no use: stop them.
        # (The oldest worker stays until a new one sees content: it may still be capturing.)
        for old in self.workers.get(name, [])[1:]:
            if old.trouble and not old.saw_content:
                old.stop()
        worker = Worker(self, name, url, skew_limit=self.source.skew_limit)
        self.workers.setdefault(name, []).append(worker)
        worker.start()
        return worker

    def set_live(self, live, reason=None):
        if live != self.live:
            if live:
                log.info("%s: stream is live", self.stream)
            else:
                log.info("%s: offline (%s); polling every %ss", self.stream, reason,
                    self.offline_poll_interval)
            self.live = live
            metrics.stream_live.labels(self.stream).set(1 if live else 0)

    def stop(self, timeout=None):
        """Stop polling, let in-flight segments finish (bounded), then stop the rest."""
        timeout = self.stop_timeout if timeout is None else timeout
        self.stopping.set()
        self.wakeup.set()
        for workers in self.workers.values():
            for worker in workers:
                worker.stop()
        # Downloads waiting to retry have nothing in flight: stop them now.
        for state in list(self.jobs.values()):
            if state.running and not self.downloader.in_transfer(state.job):
                state.greenlet.kill(block=False)
        if not self.downloads.join(timeout=timeout):
            log.warning("%s: %d segment downloads still running after %ss; stopping them"
                " (what they got is kept as partial)", self.stream, len(self.downloads), timeout)
            self.downloads.kill(block=True, timeout=5)

