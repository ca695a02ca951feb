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

_newest = {}


def note_newest(stream, variant, start):
    """Move the newest-segment gauge forward (never back: retries finish out of order)."""
    value = (start - EPOCH).total_seconds()
    if value > _newest.get((stream, variant), float("-inf")):
        _newest[(stream, variant)] = value
        newest_segment.labels(stream, variant).set(value)
        newest_segment_stored.labels(stream, variant).set_to_current_time()
