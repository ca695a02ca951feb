"""When a previous scan of an hour can be reused instead of scanning it again (pure logic).

An hour's figures depend on its own directory and on the previous hour's (whose last segment
may run into it). A directory's (mtime, inode) changes whenever a file in it is added, renamed or
removed, so a closed hour whose two directories have the same (mtime, inode) as at its last scan
has the same files. Two exceptions force a rescan: an open hour (its range grows with time), and
a directory modified within SETTLE_NS before the last scan started, because the clock tick of an
mtime is coarse enough to hide a change made just after the listing.
"""

from dataclasses import dataclass

SETTLE_NS = 2_000_000_000


@dataclass(frozen=True)
class CacheEntry:
    coverage: object  # HourCoverage
    fingerprint: tuple  # ((mtime_ns, inode) or None for the hour, same for the previous hour)
    scanned_at_ns: int  # wall clock (time.time_ns) when the scan started


def reusable(entry, fingerprint, want_pixels):
    """True if `entry` still describes an hour whose directories now have `fingerprint`."""
    if entry is None or entry.fingerprint != fingerprint:
        return False
    if not entry.coverage.closed:
        return False
    if want_pixels and entry.coverage.pixels is None:
        return False
    for stamp in fingerprint:
        if stamp is not None and stamp[0] >= entry.scanned_at_ns - SETTLE_NS:
            return False
    return True
