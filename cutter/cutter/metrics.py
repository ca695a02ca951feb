"""The cutter's Prometheus metrics. Labels come from fixed sets: location names from the config,
outcomes from jobs.py, cut types rough/fast/full. Uploads are timed by worker.upload
(common.stats.timed: cutter_upload_*), cuts by common.cuts (cut_*)."""

import prometheus_client as prom

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
