"""The downloader's Prometheus metrics. Labels are bounded: stream, variant, type, error kind."""

from datetime import datetime

import prometheus_client as prom

EPOCH = datetime(1970, 1, 1)

segments_downloaded = prom.Counter("downloader_segments_downloaded",
    "Segments stored, by type", ["type", "stream", "variant"])
seconds_downloaded = prom.Counter("downloader_segment_seconds_downloaded",
    "Seconds of video stored, by segment type", ["type", "stream", "variant"])
newest_segment = prom.Gauge("downloader_newest_segment_timestamp_seconds",
    "Start time (unix seconds) of the newest segment stored", ["stream", "variant"])
newest_segment_stored = prom.Gauge("downloader_newest_segment_stored_timestamp_seconds",
    "When (unix seconds, this machine's clock) the newest segment was stored: alert on "
    "`time() - this` (unlike the segment's start, it does not depend on the origin's clock)",
    ["stream", "variant"])
ad_segments = prom.Counter("downloader_ad_segments_skipped",
    "Ad segments seen in playlists and not stored", ["stream", "variant"])
playlist_errors = prom.Counter("downloader_playlist_fetch_errors",
    "Failed master or media playlist fetches (variant 'master' for the master playlist)",
    ["stream", "variant", "kind"])
segment_errors = prom.Counter("downloader_segment_fetch_errors",
    "Failed segment fetch attempts", ["stream", "variant", "kind"])
workers_running = prom.Gauge("downloader_workers",
    "Media playlist workers running", ["stream", "variant"])
skew_events = prom.Counter("downloader_segment_skew_events",
    "Segments whose program date time disagreed with the previous segment's end",
    ["stream", "variant"])
duplicates_skipped = prom.Counter("downloader_duplicate_segments_skipped",
    "Segments seen by more than one worker and fetched only once", ["stream", "variant"])
unrecordable = prom.Counter("downloader_unrecordable_segments",
    "Segments not recorded because they cannot be: unsupported encryption, a key that cannot be"
    " fetched or does not decrypt them, a malformed playlist entry (reason is one of a fixed set)",
    ["stream", "variant", "reason"])
gap_segments = prom.Counter("downloader_gap_segments_skipped",
    "Segments marked EXT-X-GAP (announced but absent) and not fetched", ["stream", "variant"])
stream_live = prom.Gauge("downloader_stream_live",
    "1 while the stream's master playlist is available, 0 while offline", ["stream"])

# The kinds of failure (download.error_kind, plus what callers add) and the types stored, created
# at 0 for every variant a worker follows: the set of series is then whole from the start, not
# grown by the first outage (and rate() sees the first error).
FETCH_ERROR_KINDS = ("timeout", "connection", "protocol", "http_4xx", "http_5xx", "io")
SEGMENT_ERROR_KINDS = FETCH_ERROR_KINDS + ("gone",)
PLAYLIST_ERROR_KINDS = FETCH_ERROR_KINDS + ("gone", "invalid")
MASTER_ERROR_KINDS = FETCH_ERROR_KINDS + ("invalid", "unexpected")
STORED_TYPES = ("full", "partial", "suspect")

_newest = {}


def init_variant(stream, variant, reasons=()):
    """Create a variant's error and stored-segment series at 0 (`reasons`: unrecordable's)."""
    for kind in SEGMENT_ERROR_KINDS:
        segment_errors.labels(stream, variant, kind)
    for kind in PLAYLIST_ERROR_KINDS:
        playlist_errors.labels(stream, variant, kind)
    for kind in STORED_TYPES:
        segments_downloaded.labels(kind, stream, variant)
        seconds_downloaded.labels(kind, stream, variant)
    for reason in reasons:
        unrecordable.labels(stream, variant, reason)
    for counter in (ad_segments, skew_events, duplicates_skipped, gap_segments):
        counter.labels(stream, variant)


def init_stream(stream):
    for kind in MASTER_ERROR_KINDS:
        playlist_errors.labels(stream, "master", kind)


def note_newest(stream, variant, start):
    """Move the newest-segment gauge forward (never back: retries finish out of order)."""
    value = (start - EPOCH).total_seconds()
    if value > _newest.get((stream, variant), float("-inf")):
        _newest[(stream, variant)] = value
        newest_segment.labels(stream, variant).set(value)
        newest_segment_stored.labels(stream, variant).set_to_current_time()
