"""The cutter's Prometheus metrics. Labels come from fixed sets: location names from the config,
outcomes from jobs.py, cut types rough/fast/full. Uploads are timed by worker.upload
(common.stats.timed: cutter_upload_*), cuts by common.cuts (cut_*)."""

import prometheus_client as prom

from common.events.edits import CUT_TYPES
from common.stats import init_timed

from .jobs import OUTCOMES, plan_cut

uploads = prom.Counter(
    "cutter_uploads", "Jobs finished, by upload location and outcome (done, transcoding, "
    "retryable_failure, permanent_failure, unknown, abandoned, lost_update)",
    ["location", "outcome"])
transcoded = prom.Counter(
    "cutter_transcoded", "Videos moved TRANSCODING -> DONE by the transcode checker", ["location"])
candidates = prom.Gauge(
    "cutter_candidates", "EDITED events this cutter may take, at the last look", ["location"])
footage_missing = prom.Counter(
    "cutter_footage_missing", "Candidate checks that found holes in this node's footage",
    ["location"])
claim_conflicts = prom.Counter(
    "cutter_claim_conflicts", "Claims lost to another cutter or to a concurrent re-edit",
    ["location"])

# Buckets of the uploads' timing (worker.upload, common.stats.timed): wall seconds of an upload
# (a short clip to a long video), and per second of video (1 = real time).
UPLOAD_SECONDS = (.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
SECONDS_PER_VIDEO_SECOND = (.001, .003, .01, .03, .1, .3, 1, 3, 10, 30)


def init_location(location):
    """Create a location's series at 0 when the cutter starts, so that rate() and increase()
    count its first job too (a series born at 1 looks unchanged to them): its outcomes and
    counters, and the timings of its uploads (cutter_upload_*) and cuts (cut_*) of every cut
    type, labelled as jobs.plan_cut will make them."""
    name = location.name
    for outcome in OUTCOMES:
        uploads.labels(name, outcome)
    for metric in (transcoded, footage_missing, claim_conflicts):
        metric.labels(name)
    streamed = str(not location.backend.needs_seekable).lower()
    for cut_type in CUT_TYPES:
        init_timed("cutter_upload", location=name, cut_type=cut_type, streamed=streamed)
        init_timed("cut", type=cut_type, container=plan_cut(cut_type, location).container)


# Database-wide figures (every cutter exports the same: aggregate them with max), refreshed by
# event_stats.py. `state` is one of the six event states.
events = prom.Gauge(
    "cutter_events", "Events in the database, by state", ["state"])
events_with_error = prom.Gauge(
    "cutter_events_with_error", "Events whose error is set, by state", ["state"])
events_overdue = prom.Gauge(
    "cutter_events_overdue", "CLAIMED or FINALIZING events whose job has run for longer than "
    "a cut and upload of their length should take (common.events.progress.expected_duration)",
    ["state"])
event_stats_errors = prom.Counter(
    "cutter_event_stats_errors", "Failed refreshes of the database-wide event figures")
