"""Which segments a live (polled) playlist lists, and how they are numbered. Pure logic; file
facts come from callables.

A player polling a live playlist must only ever see it grow at the end: a listed segment never
changes, and MEDIA-SEQUENCE / DISCONTINUITY-SEQUENCE count consistently across reloads. Without
keeping state, that holds if whether a segment is listed depends only on facts that never change
once it is listed:
- it is settled: it ended at least SETTLE before now (newer ones wait for stragglers);
- it arrived on time: its file appeared no later than SETTLE after it ended. A segment that
  arrives later (a backfilled one filling a hole) is left out of live playlists for good,
  because listing it would change what players already saw; fixed-range playlists show it.

Numbering (live_window): a segment's number is the count of listed segments before it since the
origin (the `start` parameter, else the fixed ORIGIN), taken hour by hour: each segment belongs
to the hour it starts in, and the first one of an hour gets a discontinuity when it does not
join the previous listed segment. Once an hour is closed (its last possible segment has
settled) its listing no longer changes, so a running Tally through it is memoised and a request
only walks the hours after the newest memoised one (normally the current one or two).
Where "a closed hour never changes" does not hold:
- files deleted (pruning by the backfiller's --delete-older-than, by hand) or whose mtime
  changes (touched, copied without times): the memo keeps the numbers within a process, but a
  fresh process counts only what is on disk, so after a restart numbers can be lower than
  before by the segments pruned since the origin;
- a late segment that starts earlier than an on-time one and overlaps it: get_best_segments
  keeps the earlier start, so the on-time one drops out of the selection (and out of the live
  listing; the same breaks "only appends" in the open hour). Likewise the previous hour's last
  segment overlapping an hour's first one (so pruning it changes that hour's count, cold).
A fresh process's first request counts the whole archive from the origin (~0.25 s per day of
2-second segments); the memo is process memory only.
"""

import bisect
from datetime import datetime, timedelta
from typing import NamedTuple, Optional

from common.segments import MAX_SEGMENT_DURATION, TOLERANCE

SETTLE = timedelta(seconds=10)
WINDOW_SEGMENTS = 30
HOUR = timedelta(hours=1)
# Start-less live playlists count from here (fixed: never moves, so never restarts numbering).
ORIGIN = datetime(2000, 1, 1)


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


# --- numbering -----------------------------------------------------------------------------------

class Tally(NamedTuple):
    """Listed segments and discontinuities from the origin through some hour, and the last
    listed segment's end (None if none yet) and partialness, to judge the next one's join."""
    count: int = 0
    breaks: int = 0
    last_end: Optional[datetime] = None
    last_partial: bool = False


def closed(hour, horizon):
    """An hour is closed once every segment that starts in it has ended before the horizon."""
    return hour + HOUR + MAX_SEGMENT_DURATION <= horizon


def join(part, tally):
    """An hour's listing with its first entry's break judged against the listing before it
    (a gap or overlap beyond TOLERANCE, or a partial segment before it)."""
    if not part or tally.last_end is None:
        return part
    first, brk = part[0]
    gap = first.start - tally.last_end
    brk = brk or tally.last_partial or abs(gap) > TOLERANCE
    return [(first, brk)] + part[1:]


def advance(tally, joined):
    """The Tally after an hour whose (joined) listing is `joined`."""
    if not joined:
        return tally
    last = joined[-1][0]
    return Tally(tally.count + len(joined), tally.breaks + sum(1 for _, b in joined if b),
                 last.start + last.duration, last.is_partial)


def live_window(hours, horizon, listing, memo, size=WINDOW_SEGMENTS):
    """-> (entries, media_sequence, discontinuity_sequence) of a live playlist, as window().

    hours: sorted start times of the hours that may hold data, from the origin's hour to the
    horizon's. listing(hour) -> that hour's [(segment, break_before)] (listable() of the
    segments starting in it). memo: .get(hour) -> Tally through that hour or None, and
    .put(hour, tally); only closed hours are put, so a memoised Tally never changes.
    """
    # The tail: the open hours, then closed ones back until the window is full.
    i, n, tail = len(hours), 0, []
    while i > 0 and (n < size or not closed(hours[i - 1], horizon)):
        i -= 1
        part = listing(hours[i])
        tail.append((hours[i], part))
        n += len(part)
    tail.reverse()
    base = tally_before(hours, i, listing, memo)
    listed, tally = [], base
    for hour, part in tail:
        part = join(part, tally)
        listed.extend(part)
        tally = advance(tally, part)
        if closed(hour, horizon):
            memo.put(hour, tally)
    entries, first, breaks = window(listed, size)
    return entries, base.count + first, base.breaks + breaks


def tally_before(hours, i, listing, memo):
    """The Tally through hours[:i] (all closed): from the newest memoised one, walking on.
    The newest memoised hour counts even if it is no longer in `hours` (pruned from disk)."""
    j, tally = i - 1, None
    while j >= 0:
        tally = memo.get(hours[j])
        if tally is not None:
            break
        j -= 1
    newest = memo.newest()
    if newest is not None and (i == len(hours) or newest[0] < hours[i]) \
            and (j < 0 or newest[0] > hours[j]):
        tally = newest[1]
        j = bisect.bisect_right(hours, newest[0], 0, i) - 1
    tally = tally or Tally()
    for hour in hours[j + 1:i]:
        tally = advance(tally, join(listing(hour), tally))
        memo.put(hour, tally)
    return tally
