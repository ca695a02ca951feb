"""The cutter's work loop: find EDITED events, check the footage, claim, cut, upload, record.

One job at a time per cutter. The job (cut + upload) runs in its own greenlet; the loop watches
it, and abandons it if the event stops being ours before the upload became official (an operator
re-edited or cancelled it). From the moment the event is FINALIZING nothing interrupts the job:
its outcome decides, and an uncertain outcome stays FINALIZING for an operator.
"""

import logging
import os
import time
from typing import NamedTuple

import gevent
import psycopg2

from common import cuts, renditions
from common.database import note_conflict, query, retry_reason
from common.dateutil import utcnow
from common.events.progress import CUT, CUT_AND_UPLOAD, UPLOAD
from common.segments import ContainsHoles, SelectionStats, get_best_segments
from common.events import edits
from common.service import one_line
from common.stats import timed
from uploader.backends import Spool

from . import jobs, metrics
from .config import Location
from .event_stats import EventStats
from .progress import INTERVAL as PROGRESS_INTERVAL, ProgressReporter, WatchedSpool

log = logging.getLogger(__name__)

DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class Job(NamedTuple):
    row: dict
    location: Location
    plan: jobs.CutPlan

    @property
    def video_seconds(self):
        return (self.row["video_end"] - self.row["video_start"]).total_seconds()


@timed("cutter_upload", normalize=lambda ret, job, data, finalize: job.video_seconds,
       unit="second of video", normalized_buckets=metrics.SECONDS_PER_VIDEO_SECOND,
       buckets=metrics.UPLOAD_SECONDS,
       location=lambda ret, job, data, finalize: job.location.name,
       cut_type=lambda ret, job, data, finalize: job.plan.cut_type,
       streamed=lambda ret, job, data, finalize: str(not isinstance(data, Spool)).lower())
def upload(job, data, finalize):
    """Upload a cut: streamed (the chunks as the cut makes them, so the time includes the cut's)
    or spooled (a finished file). Returns the backend's (video_id, link)."""
    row = job.row
    return job.location.backend.upload(
        row["video_title"], row["video_description"], row["video_tags"], data,
        container=job.plan.container, before_finalize=finalize)


class JobState:
    """Shared between a job greenlet and the loop watching it."""

    def __init__(self):
        self.entering_finalize = False  # from here on, the job must not be interrupted
        self.finalizing = False  # the event is FINALIZING: the upload may become official


class Cutter:
    def __init__(self, name, db, base_dir, locations, stop, poll_interval=10.0,
                 watch_interval=2.0, tmp_dir=None, retry_base=10.0,
                 progress_interval=PROGRESS_INTERVAL):
        self.name, self.db, self.base_dir = name, db, base_dir
        self.locations, self.stop = locations, stop
        self.poll_interval, self.watch_interval = poll_interval, watch_interval
        self.tmp_dir, self.retry_base = tmp_dir, retry_base
        self.progress_interval = progress_interval
        for location in locations.values():
            metrics.init_location(location)
        self.conn = None
        # event id -> (edit_time, consecutive failures, monotonic time of the next try)
        self.backoff = {}

    # --- the loop ---

    def run(self):
        checkers = [gevent.spawn(TranscodeChecker(self, loc).run)
                    for loc in self.locations.values() if loc.backend.needs_transcode]
        checkers.append(gevent.spawn(EventStats(self.db, self.stop, utcnow).run))
        try:
            while not self.stop.is_set():
                try:
                    if self.conn is None:
                        self.conn = self.db.get_conn()
                        self.recover()
                    worked = self.run_once()
                except DB_ERRORS as e:
                    if not note_conflict(e, "looking for work", log):
                        log.error("database unavailable, retrying in %ss: %s",
                                  self.poll_interval, one_line(e))
                        self._drop_conn()
                    worked = False
                except Exception:
                    log.exception("unexpected error in the cutter loop; carrying on")
                    worked = False
                if not worked:
                    self.stop.wait(self.poll_interval)
        finally:
            gevent.killall(checkers)
            self._drop_conn()

    def _drop_conn(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def recover(self):
        """Our own leftovers: CLAIMED (nothing official happened) goes back to EDITED;
        FINALIZING gets an error asking an operator to check. Other nodes' rows: untouched."""
        for row in query(self.conn, jobs.RECOVER_CLAIMED_SQL, me=self.name).fetchall():
            log.warning("event %s was CLAIMED by us when we last stopped: back to EDITED", row.id)
        for location in self.locations.values():
            try:
                location.backend.recover()
            except OSError as e:
                log.error("location %s: cannot clean up after interrupted uploads: %s",
                          location.name, e)
        message = jobs.recovery_message(self.name)
        for row in query(self.conn, jobs.RECOVER_FINALIZING_SQL, me=self.name,
                         error=message).fetchall():
            log.error("event %s was FINALIZING when we last stopped: the upload may or may not "
                      "have happened; an operator must check (see the event's error)", row.id)

    def run_once(self):
        """Look at the candidates once; run at most one job. True if a job ran."""
        rows = [row._asdict() for row in query(
            self.conn, jobs.CANDIDATES_SQL, locations=list(self.locations), name=self.name)]
        for location in self.locations:
            metrics.candidates.labels(location).set(
                sum(1 for row in rows if row["upload_location"] == location))
        now = time.monotonic()
        # Forget failures of events no longer waiting (done, cancelled, taken elsewhere).
        waiting = {row["id"] for row in rows}
        self.backoff = {k: v for k, v in self.backoff.items() if k in waiting}
        for row in rows:
            if self.stop.is_set():
                return False
            entry = self.backoff.get(row["id"])
            if entry and entry[0] == row["edit_time"] and now < entry[2]:
                continue
            location = self.locations[row["upload_location"]]
            problems = edits.problems(row)
            if problems:  # written by something other than the CLI, which validates
                self._note(row, "cannot cut this edit: " + "; ".join(problems))
                continue
            if row["video_end"] > utcnow() - jobs.RECORDING_MARGIN:
                # Still being recorded: with allow_holes the missing end would be accepted
                # and a truncated video uploaded for good.
                self._note(row, jobs.not_recorded_message(row["video_end"]))
                continue
            segments = self.check_footage(row, location)
            if segments is None:
                continue
            if not self.claim(row, location):
                continue
            self.process(row, location, segments)
            return True
        return False

    # --- steps ---

    def check_footage(self, row, location):
        """The segments to cut, or None after recording on the event why not."""
        hours_path = os.path.join(self.base_dir, row["video_stream"], row["video_variant"])
        start, end = row["video_start"], row["video_end"]
        try:
            segments = get_best_segments(hours_path, start, end, allow_holes=row["allow_holes"])
            stats = None
            if not any(s is not None for s in segments):
                segments = None
        except ContainsHoles:
            stats = SelectionStats()
            get_best_segments(hours_path, start, end, allow_holes=True, stats=stats)
            segments = None
        if segments is not None:
            return segments
        metrics.footage_missing.labels(location.name).inc()
        message = jobs.footage_message(self.name, row["video_stream"], row["video_variant"],
                                       start, end, stats)
        self._note(row, message)
        return None

    def _note(self, row, message):
        """Say on an EDITED event why we do not take it (unless it was re-edited meanwhile)."""
        log.info("event %s: %s", row["id"], message)
        try:
            query(self.conn, jobs.CANDIDATE_ERROR_SQL, **dict(row, error=message))
        except psycopg2.Error as e:
            if retry_reason(e) is None:
                raise
            # The row changed under us (a re-edit, a claim): the note is moot.

    def claim(self, row, location):
        sql, params = jobs.claim_sql(row)
        try:
            claimed = query(self.conn, sql, me=self.name, **params).fetchone() is not None
        except psycopg2.Error as e:
            # Under SERIALIZABLE, a concurrent claim or re-edit of the same row makes the
            # server abort ours (40001) instead of updating nothing: the same lost claim.
            if retry_reason(e) is None:
                raise
            claimed = False
        if not claimed:
            metrics.claim_conflicts.labels(location.name).inc()
            log.info("event %s: claim lost (another cutter took it, or it was re-edited)",
                     row["id"])
            return False
        log.info("event %s: claimed (%s, %s to %s, %s cut, to %s)", row["id"], row["video_title"],
                 row["video_start"], row["video_end"],
                 jobs.plan_cut(row["cut_type"], location).cut_type, location.name)
        return True

    def process(self, row, location, segments):
        state = JobState()
        job = gevent.spawn(self._job, row, location, segments, state)
        self._watch(job, row, state)
        if job.successful():
            kind, value = job.value
        elif isinstance(job.exception, (jobs.Abandoned, jobs.Stopping)):
            kind, value = "released", job.exception  # killed before it even started
        else:
            kind, value = "error", job.exception
        self._record(row, location, state, kind, value)

    def _watch(self, job, row, state):
        """Wait for the job; interrupt it only before it starts making the upload official."""
        while True:
            gevent.wait([job, self.stop], count=1, timeout=self.watch_interval)
            if job.ready():
                return
            if state.entering_finalize:
                job.join()
                return
            if self.stop.is_set():
                job.kill(jobs.Stopping("cutter stopping"))
                continue
            try:
                ours = query(self.conn, jobs.STILL_OURS_SQL, id=row["id"],
                             me=self.name).fetchone() is not None
            except DB_ERRORS as e:
                if not note_conflict(e, f"checking that event {row['id']} is still ours", log):
                    log.warning("cannot check whether event %s is still ours: %s", row["id"],
                                one_line(e))
                continue
            if not ours and not state.entering_finalize and not job.ready():
                job.kill(jobs.Abandoned("the event was re-edited or cancelled"))

    def _job(self, row, location, segments, state):
        try:
            return "uploaded", self._cut_and_upload(row, location, segments, state)
        except (jobs.Abandoned, jobs.Stopping) as e:
            return "released", e
        except Exception as e:
            return "error", e

    def _cut_and_upload(self, row, location, segments, state):
        job = Job(row, location, jobs.plan_cut(row["cut_type"], location))
        start, end = row["video_start"], row["video_end"]
        reporter = ProgressReporter(self.db, row["id"], self.name, self.progress_interval)
        cut_progress = reporter.fraction_callback(
            CUT if location.backend.needs_seekable else CUT_AND_UPLOAD)
        # A variant whose sound is a separate rendition: the cut takes it from there.
        audio = renditions.audio_segments(
            os.path.join(self.base_dir, row["video_stream"], row["video_variant"]), segments)
        if job.plan.cut_type == "rough":
            chunks = cuts.rough_cut(segments, start, end, audio=audio, progress=cut_progress)
        elif job.plan.cut_type == "fast":
            chunks = cuts.fast_cut(segments, start, end, container=job.plan.container,
                                   audio=audio, progress=cut_progress)
        else:
            chunks = cuts.full_cut(segments, start, end, job.plan.encode_args
                                   or cuts.DEFAULT_ENCODE_ARGS, job.plan.container, audio=audio,
                                   progress=cut_progress)
        finalize = self._finalizer(row, state)
        try:
            if not location.backend.needs_seekable:
                reporter.update(CUT_AND_UPLOAD, 0)
                return upload(job, chunks, finalize)
            # The cut itself is timed by common.cuts (cut_*_latency_seconds).
            reporter.update(CUT, 0)
            with Spool.from_chunks(chunks, dir=self.tmp_dir) as spool:
                reporter.update(UPLOAD, 0)
                return upload(job, WatchedSpool(spool, reporter.fraction_callback(UPLOAD)),
                              finalize)
        finally:
            chunks.close()  # stops ffmpeg at once if the upload gave up early
            reporter.close()

    def _finalizer(self, row, state):
        def finalize():
            state.entering_finalize = True
            conn = self.db.get_conn()  # this greenlet's own: the loop is using self.conn
            try:
                updated = query(conn, jobs.FINALIZE_SQL, id=row["id"], me=self.name).rowcount
            finally:
                conn.close()
            if updated != 1:
                raise jobs.Abandoned("the event was re-edited or cancelled before finalizing")
            state.finalizing = True
            log.info("event %s: FINALIZING, making the upload official", row["id"])
        return finalize

    def _record(self, row, location, state, kind, value):
        event_id = row["id"]
        if kind == "released":
            if isinstance(value, jobs.Stopping):
                self._write(jobs.RELEASE_SQL, id=event_id, me=self.name)
                log.info("event %s: handed back (EDITED) as the cutter stops", event_id)
            else:
                log.info("event %s: abandoned (%s)", event_id, value)
            metrics.uploads.labels(location.name, jobs.ABANDONED).inc()
            return
        if kind == "uploaded":
            video_id, link = value
            new_state = "TRANSCODING" if location.backend.needs_transcode else "DONE"
            updated = self._write(jobs.UPLOADED_SQL, id=event_id, me=self.name, state=new_state,
                                  video_id=video_id, link=link, now=utcnow())
            if updated:
                outcome = jobs.TRANSCODING if new_state == "TRANSCODING" else jobs.DONE
                log.info("event %s: uploaded as %s (%s), now %s", event_id, video_id, link,
                         new_state)
            else:
                outcome = jobs.LOST_UPDATE
                log.error("event %s: uploaded as %s (%s) but the event changed meanwhile; "
                          "check it by hand", event_id, video_id, link)
            metrics.uploads.labels(location.name, outcome).inc()
            self.backoff.pop(event_id, None)
            return
        outcome, next_state, message = jobs.classify_failure(value, state.finalizing)
        metrics.uploads.labels(location.name, outcome).inc()
        if next_state is None:
            message = jobs.unknown_message(location.name, value)
            log.error("event %s: %s", event_id, message, exc_info=value)
            self._write(jobs.UNKNOWN_SQL, id=event_id, me=self.name, error=message)
            return
        log.warning("event %s: %s -> %s", event_id, message, next_state,
                    exc_info=value if outcome == jobs.RETRYABLE and not _expected(value) else None)
        self._write(jobs.FAILED_SQL, id=event_id, me=self.name, state=next_state, error=message)
        if next_state == "EDITED":
            failures = self.backoff.get(event_id, (None, 0))[1] + 1
            delay = jobs.retry_delay(failures, self.retry_base)
            self.backoff[event_id] = (row["edit_time"], failures, time.monotonic() + delay)

    def _write(self, sql, **params):
        """A guarded outcome update, retried while the database is unreachable (it is
        idempotent): losing it could leave an uploaded video unrecorded. Returns rowcount."""
        delay = 1.0
        while True:
            try:
                if self.conn is None:
                    self.conn = self.db.get_conn()
                return query(self.conn, sql, **params).rowcount
            except DB_ERRORS as e:
                if note_conflict(e, f"recording the outcome of event {params.get('id')}", log):
                    gevent.sleep(0.01)  # the guarded update is idempotent: run it again
                    continue
                self._drop_conn()
                if self.stop.is_set():
                    log.error("cannot record the outcome of event %s while stopping: %s "
                              "(params %s)", params.get("id"), one_line(e), params)
                    return 0
                log.error("cannot record the outcome of event %s, retrying: %s",
                          params.get("id"), one_line(e))
                gevent.sleep(delay)
                delay = min(delay * 2, 30)


class TranscodeChecker:
    """Moves a location's TRANSCODING events to DONE when its backend says they are ready."""

    def __init__(self, cutter, location):
        self.cutter, self.location = cutter, location

    def run(self):
        conn = None
        while not self.cutter.stop.is_set():
            try:
                conn = conn or self.cutter.db.get_conn()
                self.check(conn)
            except DB_ERRORS as e:
                if not note_conflict(e, f"the transcode check of {self.location.name}", log):
                    log.warning("transcode check of %s: database unavailable: %s",
                                self.location.name, one_line(e))
                    conn = None
            except Exception as e:
                log.warning("transcode check of %s failed: %s", self.location.name,
                            one_line(e))
            self.cutter.stop.wait(self.location.transcode_check_interval)

    def check(self, conn):
        rows = query(conn, jobs.TRANSCODING_SQL, location=self.location.name).fetchall()
        if not rows:
            return
        statuses = self.location.backend.check_status([row.video_id for row in rows])
        for row in rows:
            status = statuses.get(row.video_id)
            if status is None:
                # Deleted (or never listed): without a note the event would wait here silently.
                query(conn, jobs.TRANSCODE_ERROR_SQL, id=row.id, video_id=row.video_id,
                      error=jobs.video_unknown_message(self.location.name, row.video_id))
                continue
            if status.done:
                if query(conn, jobs.TRANSCODED_SQL, id=row.id, video_id=row.video_id).rowcount:
                    metrics.transcoded.labels(self.location.name).inc()
                    log.info("event %s: video %s is ready: DONE", row.id, row.video_id)
            elif status.error:
                query(conn, jobs.TRANSCODE_ERROR_SQL, id=row.id, video_id=row.video_id,
                      error=status.error)


def _expected(exc):
    return isinstance(exc, (cuts.CutError, OSError))

