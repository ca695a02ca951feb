"""The cutter's Prometheus metrics. Labels come from fixed sets: location names from the config,
outcomes and phases from jobs.py, cut types rough/fast/full."""

import prometheus_client as prom

from common.events.edits import CUT_TYPES
from common.events.progress import CUT, CUT_AND_UPLOAD, UPLOAD

from .jobs import OUTCOMES

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
phase_seconds = prom.Histogram(
    "cutter_phase_seconds", "Wall time of a job phase (cut: spooling the cut; upload: sending "
    "a spooled cut; cut_and_upload: a cut streamed into the upload)",
    ["location", "cut_type", "phase"],
    buckets=(.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
phase_seconds_per_video_second = prom.Histogram(
    "cutter_phase_seconds_per_video_second",
    "Wall time of a job phase divided by the video's duration (1 = real time)",
    ["location", "cut_type", "phase"],
    buckets=(.001, .003, .01, .03, .1, .3, 1, 3, 10, 30))


def init_location(location, seekable):
    """Create a location's series at 0 when the cutter starts, so that rate() and increase()
    count its first job too (a series born at 1 looks unchanged to them)."""
    for outcome in OUTCOMES:
        uploads.labels(location, outcome)
    for metric in (transcoded, footage_missing, claim_conflicts):
        metric.labels(location)
    phases = (CUT, UPLOAD) if seekable else (CUT_AND_UPLOAD,)
    for cut_type in CUT_TYPES:
        for phase in phases:
            phase_seconds.labels(location, cut_type, phase)
            phase_seconds_per_video_second.labels(location, cut_type, phase)


def observe_phase(location, cut_type, phase, seconds, video_seconds):
    phase_seconds.labels(location, cut_type, phase).observe(seconds)
    if video_seconds > 0:
        phase_seconds_per_video_second.labels(location, cut_type, phase).observe(
            seconds / video_seconds)

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
