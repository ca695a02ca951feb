"""Prometheus metrics of the backfiller. Labels: `peer` (one per configured node), and small
fixed sets (`kind`, `reason`); never a stream, hour or segment.

The backfiller also exports the size and free space of the filesystem holding the segments
(it is the service that runs on every node, and it deletes old hours), read at each scrape."""

import logging
import os

import prometheus_client as prom
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

segments_backfilled = prom.Counter(
    "backfiller_segments_backfilled", "Segments copied from a peer into the local archive",
    ["peer"])
bytes_backfilled = prom.Counter(
    "backfiller_bytes_backfilled", "Bytes of segments copied from a peer", ["peer"])
hash_mismatches = prom.Counter(
    "backfiller_hash_mismatches",
    "Segments whose bytes did not hash to the hash in their name (deleted, not archived)",
    ["peer"])
peer_errors = prom.Counter(
    "backfiller_peer_errors",
    "Failed requests to a peer. kind: list (a listing), fetch (a segment), info (a variant.json "
    "refused or unreadable), unreachable (connection refused or timed out: the rest of that pass was skipped)",
    ["peer", "kind"])
variant_infos_copied = prom.Counter(
    "backfiller_variant_infos_copied",
    "variant.json files (separate audio renditions) copied from a peer, new or newer", ["peer"])
segments_skipped = prom.Counter(
    "backfiller_segments_skipped",
    "Peer segments not fetched, by reason (temp, unparseable, recent, too_old, superseded); "
    "segments already held are not counted",
    ["reason"])
passes = prom.Counter(
    "backfiller_passes", "Backfill passes over one peer, by kind (recent/sweep) and result "
    "(ok, errors: some requests failed, aborted: the peer became unreachable)",
    ["peer", "kind", "result"])
pass_duration = prom.Histogram(
    "backfiller_pass_duration_seconds", "Duration of one backfill pass over one peer",
    ["peer", "kind"], buckets=(.1, .5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200))
newest_segment_age = prom.Gauge(
    "backfiller_newest_segment_age_seconds",
    "How old the newest segment fetched from a peer was when it arrived (start to arrival), "
    "as of the last pass that fetched anything",
    ["peer"])
newest_segment_fetched = prom.Gauge(
    "backfiller_newest_segment_start_timestamp_seconds",
    "Start time (Unix) of the newest segment ever fetched from a peer", ["peer"])
peers_configured = prom.Gauge(
    "backfiller_peers", "Peers currently being backfilled from")
node_refresh_errors = prom.Counter(
    "backfiller_node_refresh_errors",
    "Failures reading a source of the peer list (source: file, database); the last good list "
    "stays in use", ["source"])
recovered_temp_files = prom.Counter(
    "backfiller_recovered_temp_files",
    "Leftover temp files (their writer died) renamed to partial at start-up")
peer_reachable = prom.Gauge(
    "backfiller_peer_reachable",
    "1 if the last pass over the peer reached it, 0 if the peer was unreachable", ["peer"])
segments_left = prom.Gauge(
    "backfiller_segments_left",
    "Segments the current (or last) pass over the peer still means to fetch", ["peer"])



def init_peer(name):
    """Create a new peer's counters at 0, so that dashboards and rate() see them from the
    start rather than from its first error or segment."""
    segments_backfilled.labels(name)
    bytes_backfilled.labels(name)
    hash_mismatches.labels(name)
    variant_infos_copied.labels(name)
    for kind in ("list", "fetch", "info", "unreachable"):
        peer_errors.labels(name, kind)


def forget_peer(name):
    """Drop the gauges of a peer no longer backfilled from: a stale 'unreachable' would alert
    forever. (Its counters stay: they only stop growing.)"""
    for gauge in (peer_reachable, segments_left, newest_segment_age, newest_segment_fetched):
        try:
            gauge.remove(name)
        except KeyError:
            pass


class SegmentsFilesystem:
    """`segments_filesystem_{size,avail}_bytes` of the filesystem holding base_dir."""

    def __init__(self, base_dir):
        self.base_dir = base_dir
        self.warned = False

    def collect(self):
        try:
            st = os.statvfs(self.base_dir)
        except OSError as e:
            if not self.warned:
                self.warned = True
                log.warning("cannot read the free space of %s: %s", self.base_dir, e)
            return
        yield GaugeMetricFamily("segments_filesystem_size_bytes",
                                "Size of the filesystem holding the segments",
                                value=st.f_blocks * st.f_frsize)
        yield GaugeMetricFamily("segments_filesystem_avail_bytes",
                                "Bytes of that filesystem free for the archive's services "
                                "(not counting space reserved for root)",
                                value=st.f_bavail * st.f_frsize)


def export_filesystem(base_dir, registry=prom.REGISTRY):
    collector = SegmentsFilesystem(base_dir)
    registry.register(collector)
    return collector
