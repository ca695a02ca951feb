"""Which of a peer's segments this node should fetch for one hour (pure: names in, names out).

Segments are compared by what their names mean (start, duration, type, hash), not by the raw
text, so `2.0` and `2.000` durations written by different tools count as the same file and a
fetched copy (always written in our canonical form) is never fetched again.
"""

import bisect
import os
from collections import Counter

from common.segments import TOLERANCE, parse_segment_path

# Nodes' timestamps drift by a few milliseconds; get_best_segments treats boundaries this close
# as the same moment, so a partial this close to a full we hold could never be chosen either.
SAME_START = TOLERANCE

# Reasons a peer's segment is not fetched (the keys of the Counter select_missing returns).
HAVE, TEMP, UNPARSEABLE, RECENT, TOO_OLD, SUPERSEDED = (
    "have", "temp", "unparseable", "recent", "too_old", "superseded")


def segment_key(info):
    return (info.start, info.duration, info.type, info.hash)


def parse_names(hour_path, names):
    """Parse bare file names as if they lived in hour_path; returns (infos, unparseable names).

    Only names that are plain file names can parse (anything with a `/` or a leading `.` is
    refused here too: a peer must never make us write outside the hour directory)."""
    infos, bad = [], []
    for name in names:
        if not isinstance(name, str) or not name or "/" in name or "\0" in name \
                or name.startswith("."):
            bad.append(name)
            continue
        try:
            infos.append(parse_segment_path(os.path.join(hour_path, name)))
        except ValueError:
            bad.append(name)
    return infos, bad


class LocalHour:
    """What this node holds for one hour, indexed for the questions select_missing asks."""

    def __init__(self, infos):
        self.keys = {segment_key(info) for info in infos if info.type != "temp"}
        self.full_starts = sorted(info.start for info in infos if info.type == "full")

    def has(self, info):
        return segment_key(info) in self.keys

    def has_full_near(self, start):
        i = bisect.bisect_left(self.full_starts, start - SAME_START)
        return i < len(self.full_starts) and self.full_starts[i] <= start + SAME_START


def select_missing(hour_path, local_names, peer_names, now, recent_cutoff, earliest=None):
    """The peer segments to fetch into hour_path, newest first, and a Counter of skip reasons.

    Skipped: what we hold already; `temp` files; names that do not parse; segments that started
    less than `recent_cutoff` ago (the local downloader may still be fetching them); segments
    that end at or before `earliest`; a partial/suspect copy where we hold a full at that start
    time (it could never be chosen).
    """
    # Fast path for the common case, a sweep over hours both nodes hold in full: names that
    # are literally ours need no parsing (a year-long sweep would otherwise parse millions).
    held = set(local_names)
    candidates = [name for name in peer_names if name not in held]
    skipped = Counter()
    skipped[HAVE] = len(peer_names) - len(candidates)
    if not candidates:
        return [], skipped
    local_infos, _ = parse_names(hour_path, local_names)
    local = LocalHour(local_infos)
    peer_infos, bad = parse_names(hour_path, candidates)
    skipped[UNPARSEABLE] += len(bad)
    wanted = {}
    for info in peer_infos:
        reason = _skip_reason(info, local, now, recent_cutoff, earliest)
        if reason:
            skipped[reason] += 1
        else:
            wanted.setdefault(segment_key(info), info)
    return sorted(wanted.values(), key=lambda info: info.start, reverse=True), skipped


def _skip_reason(info, local, now, recent_cutoff, earliest):
    if info.type == "temp":
        return TEMP
    if local.has(info):
        return HAVE
    if now - info.start < recent_cutoff:
        return RECENT
    if earliest is not None and info.start + info.duration <= earliest:
        return TOO_OLD
    if info.type != "full" and local.has_full_near(info.start):
        return SUPERSEDED
    return None
