"""Which segments a live (polled) playlist lists. Pure logic; file facts come from callables.

A player polling a live playlist must only ever see it grow at the end: a listed segment never
changes, and MEDIA-SEQUENCE / DISCONTINUITY-SEQUENCE count consistently across reloads. Without
keeping state, that holds if whether a segment is listed depends only on facts that never change
once it is listed:
- it is settled: it ended at least SETTLE before now (newer ones wait for stragglers);
- it arrived on time: its file appeared no later than SETTLE after it ended. A segment that
  arrives later (a backfilled one filling a hole) is left out of live playlists for good,
  because listing it would change what players already saw; fixed-range playlists show it.
Numbering counts listed segments from a fixed origin (the `start` parameter, or midnight UTC).
"""

from datetime import timedelta

SETTLE = timedelta(seconds=10)
WINDOW_SEGMENTS = 30


def listable(segments, now, arrival, alternative=None, settle=SETTLE, known=None):
    """-> list of (segment, break_before) for the segments a live playlist may list.

    segments: get_best_segments(origin, now - settle) (None = discontinuity).
    arrival(segment) -> naive UTC datetime its file appeared, or None if it is gone.
    alternative(segment) -> an on-time segment with the same start to list instead of a late
    one, or None. break_before marks a discontinuity (a hole, a late segment left out, or a
    partial/suspect segment before it).
    known: optional dict path -> whether that segment arrived on time, read and filled here;
    a final file's answer never changes, so callers keep it between requests (hot path).
    """
    horizon = now - settle
    known = {} if known is None else known
    out = []
    append = out.append
    pending = False
    for segment in segments:
        if segment is None:
            pending = bool(out)
            continue
        end = segment.start + segment.duration
        if end > horizon:
            break
        ok = known.get(segment.path)
        if ok is None:
            arrived = arrival(segment)
            ok = arrived is not None and arrived <= end + settle
            if arrived is not None:
                known[segment.path] = ok
        if not ok:
            segment = alternative(segment) if alternative is not None else None
            if segment is None or not _on_time(segment, arrival, settle):
                pending = bool(out)
                continue
        append((segment, pending))
        pending = False
    return out


def _on_time(segment, arrival, settle):
    arrived = arrival(segment)
    return arrived is not None and arrived <= segment.end + settle


def window(listed, size=WINDOW_SEGMENTS):
    """The last `size` listed segments -> (entries for playlists.media_playlist,
    media_sequence, discontinuity_sequence). The first entry's own discontinuity tag is
    folded into the discontinuity sequence (RFC 8216 numbering stays the same)."""
    first = max(0, len(listed) - size)
    breaks_through_first = sum(1 for _, brk in listed[:first + 1] if brk)
    entries = []
    for i, (segment, brk) in enumerate(listed[first:]):
        if brk and i > 0:
            entries.append(None)
        entries.append(segment)
    return entries, first, breaks_through_first
