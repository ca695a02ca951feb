"""Start times for segments without EXT-X-PROGRAM-DATE-TIME (the tag is optional).

A run of such segments (those of the first playlist read, or after a discontinuity) is anchored
on the clock: the playlist's live edge ends about when we read it, so an entry starts at the
read time minus the durations from it to the end of the playlist. Later entries count on from
their predecessor by EXTINF (worker and `playlist.new_entries`), so consecutive segments join
exactly.

Two nodes read the playlist at different moments, and a restarted downloader reads it again:
clock anchors alone would give the same bytes different names, and then backfill and cross-node
cuts break. So before the first segment of a run is named, its bytes are hashed and looked for
around the estimate, first in this archive (our own earlier timeline, e.g. before a restart or a
worker replacement), then in each peer's listing (`/files/STREAM/VARIANT/HOUR` of their
restreamers): a copy with the same hash gives the run its start. The first node to record a run
sets its timeline and every later one adopts it (docs/design.md).

Two nodes that anchor the same run at the same moment find no copy anywhere and each write their
own. So a run anchored on the clock stays *unsettled* for a few seconds, during which the
manager asks the peers again: should one hold the run's first segment at an earlier start (the
rule: earliest wins, the same on every node), this node moves its run there, renaming the few
files it wrote, well before any peer's backfiller copies segments that young.
"""

import logging
import os
from datetime import datetime, timedelta
from urllib.parse import quote

import requests

from common.segments import hour_name, name_hash, parse_hour, parse_segment_path, read_hour

log = logging.getLogger(__name__)

# How far from the clock estimate a copy may lie and still be the same run: EXTINF durations
# that are slightly off accumulate over days of a run, so this is generous (3 hour listings).
WINDOW = timedelta(hours=1)
# A run anchored on the clock is checked against the peers this long (seconds): longer than two
# nodes' first fetches can overlap, shorter than the restreamer's 10 s before listing a segment.
UNSETTLED_FOR = 8
# How far apart two nodes anchoring the same run at once can be (their poll phases).
RACE_WINDOW = timedelta(minutes=1)
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1)


def clock_estimates(entries, read_time):
    """{entry.id: start} if the last entry ends at read_time (the live edge)."""
    starts = {}
    end = read_time
    for entry in reversed(entries):
        end -= entry.duration
        starts[entry.id] = end
    return starts


def hours_around(estimate, window=WINDOW):
    """Hour directory names that may hold a segment starting within window of estimate."""
    hour = (estimate - window).replace(minute=0, second=0, microsecond=0)
    names = []
    while hour <= estimate + window:
        names.append(hour_name(hour))
        hour += HOUR
    return names


def matches(names, hour, hash):
    """(start, type) of each segment file name in `names` (an hour's listing) holding `hash`."""
    found = []
    for name in names:
        if isinstance(name, str) and "/" not in name and name_hash(name) == hash:
            try:
                # A bare name parses with its offset in the hour counted from the epoch.
                info = parse_segment_path(name)
                found.append((parse_hour(hour) + (info.start - EPOCH), info.type))
            except ValueError:
                continue
    return [(start, type) for start, type in found if type != "temp"]


class Unsettled:
    """A run this node anchored on the clock, checked against the peers for a while."""

    def __init__(self, hash, start, until):
        self.hash = hash
        self.start = start        # of its first segment
        self.until = until        # monotonic time to stop checking
        self.starts = {start}     # of the segments submitted since

    def __repr__(self):
        return f"<Unsettled run from {self.start}>"


def nearest(found, estimate):
    return min(found, key=lambda item: (abs(item[0] - estimate), item[0]))


class TimelineLookup:
    """Finds where a copy of a segment's bytes is named, here or at a peer."""

    def __init__(self, base_dir, stream, peers=(), session=None, timeout=(2, 5), window=WINDOW):
        self.base_dir = base_dir
        self.stream = stream
        self.peers = [p.rstrip("/") for p in peers]
        self.session = session or requests.Session()
        self.timeout = timeout
        self.window = window

    def local(self, variant, hour):
        try:
            return read_hour(os.path.join(self.base_dir, self.stream, variant, hour)) or []
        except OSError:
            return []

    def remote(self, peer, variant, hour):
        """A peer's listing of an hour; raises requests errors."""
        url = "/".join([peer, "files", quote(self.stream, safe=""), quote(variant, safe=""),
                        hour])
        resp = self.session.get(url, timeout=self.timeout)
        resp.raise_for_status()
        names = resp.json()
        if not isinstance(names, list):
            raise ValueError("listing is not a JSON list")
        return names

    def find(self, variant, estimate, hash):
        """(start, full copy stored here) of the timeline to adopt for a run whose first
        segment hashes to `hash` and is estimated to start at `estimate`, or None.

        Our own copy wins (keeps this archive consistent); else the earliest of the peers'
        copies (every node picks the same one)."""
        hours = hours_around(estimate, self.window)
        found = [m for hour in hours for m in matches(self.local(variant, hour), hour, hash)]
        if found:
            start, _ = nearest(found, estimate)
            full = any(s == start and t == "full" for s, t in found)
            self._log(variant, estimate, start, "this archive")
            return start, full
        start = self.at_peers(variant, estimate, hash, self.window)
        return None if start is None else (start, False)

    def at_peers(self, variant, estimate, hash, window):
        """The earliest start of a peer's copy of `hash` within window of estimate, or None."""
        found = []
        for peer in self.peers:
            try:
                for hour in hours_around(estimate, window):
                    found += [(start, peer) for start, _ in
                              matches(self.remote(peer, variant, hour), hour, hash)]
            except (requests.RequestException, ValueError) as e:
                log.warning("%s %s: cannot look for a copy of a segment at %s: %s", self.stream,
                            variant, peer, str(e).splitlines()[0] if str(e) else type(e).__name__)
        if not found:
            return None
        start, peer = min(found)
        self._log(variant, estimate, start, f"peer {peer}")
        return start

    def _log(self, variant, estimate, start, where):
        log.info("%s %s: timeline anchored on a copy in %s: segment at %s (clock estimate "
                 "%+.3fs off)", self.stream, variant, where, start,
                 (estimate - start).total_seconds())
