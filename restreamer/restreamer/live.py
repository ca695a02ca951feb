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

Per hour, the candidates are the files that arrived on time, best per start among them
(on_time_chain): a late file is never looked at again and never displaces an on-time one.

Numbering (live_window): a segment's number is the count of listed segments before it since the
origin (the `start` parameter, else the fixed ORIGIN), taken hour by hour: each segment belongs
to the hour it starts in, and the first one of an hour gets a discontinuity when it does not
join the previous listed segment. Once an hour is closed (its last possible segment has
settled) its listing no longer changes: it is reduced to an HourSummary (kept, and persisted by
hour_facts.py), and a running Tally through it is memoised, so a request only walks the hours
after the newest memoised one (normally the current one or two).
Where "a closed hour never changes" does not hold: files deleted (pruning by the backfiller's
--delete-older-than, by hand) or whose mtime changes (touched, copied without times). The memo
keeps the numbers within a process, but a fresh process counts only what is on disk, so after a
restart numbers can be lower than before by the segments pruned since the origin.
"""

import bisect
from datetime import datetime, timedelta
from typing import NamedTuple, Optional

from common.segments import (JOINS, MAX_SEGMENT_DURATION, chain_of, choose_best_per_start,
                             follows)

SETTLE = timedelta(seconds=10)
WINDOW_SEGMENTS = 30
HOUR = timedelta(hours=1)
# Start-less live playlists count from here (fixed: never moves, so never restarts numbering).
ORIGIN = datetime(2000, 1, 1)


def on_time_chain(segments, arrival, settle=SETTLE):
    """The live view of one hour: of its files (common.segments.hour_segments, sorted by
    start), those that arrived on time, best per start, joined by the archive's rules
    (common.segments.chain_of; None at each discontinuity). Late files are not looked at
    again, so the cost is one arrival() per file.
    arrival(segment) -> naive UTC datetime its file appeared, or None if it is gone."""
    on_time = []
    for segment in segments:
        arrived = arrival(segment)
        if arrived is not None and arrived <= segment.start + segment.duration + settle:
            on_time.append(segment)
    return chain_of(choose_best_per_start(on_time, ordered=True))[0]


def listed(chain, horizon, origin=None):
    """-> [(segment, break_before)]: the settled part of an on_time_chain (segments ending
    by `horizon`), from the first one ending after `origin` if given. A break marks a
    discontinuity (a hole, a late segment left out, or a partial one before it); the first
    entry never has one (joining hours is join's business)."""
    out = []
    pending = False
    for segment in chain:
        if segment is None:
            pending = bool(out)
            continue
        end = segment.start + segment.duration
        if origin is not None and end <= origin:
            continue
        if end > horizon:
            break
        out.append((segment, pending))
        pending = False
    return out


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


class HourSummary(NamedTuple):
    """What a Tally needs of one hour's listing: a closed hour's is small and never changes,
    so it is kept (and persisted, see hour_facts.py) instead of the listing."""
    count: int = 0
    breaks: int = 0  # of the entries after the first
    first_break: bool = False
    first_start: Optional[datetime] = None
    last_end: Optional[datetime] = None
    last_partial: bool = False


def summarize(part):
    """An hour's listing [(segment, break_before)] -> HourSummary."""
    if not part:
        return HourSummary()
    first, last = part[0], part[-1][0]
    return HourSummary(len(part), sum(1 for _, brk in part[1:] if brk), first[1],
                       first[0].start, last.start + last.duration, last.is_partial)


def closed(hour, horizon):
    """An hour is closed once every segment that starts in it has ended before the horizon."""
    return hour + HOUR + MAX_SEGMENT_DURATION <= horizon


def _joins(tally, first_start):
    """Whether an hour's first listed segment starting at first_start follows on from the
    Tally's last one without a discontinuity (common.segments.follows; across hours an
    overlap is a discontinuity too, since the earlier hour's segment was listed already)."""
    return tally.last_end is None or \
        follows(tally.last_end, tally.last_partial, first_start) is JOINS


def join(part, tally):
    """An hour's listing with its first entry's break judged against the listing before it
    (_joins)."""
    if not part or tally.last_end is None:
        return part
    first, brk = part[0]
    return [(first, brk or not _joins(tally, first.start))] + part[1:]


def advance(tally, summary):
    """The Tally after an hour whose HourSummary is `summary`."""
    if not summary.count:
        return tally
    first_break = summary.first_break or (
        tally.last_end is not None and not _joins(tally, summary.first_start))
    return Tally(tally.count + summary.count, tally.breaks + summary.breaks + first_break,
                 summary.last_end, summary.last_partial)


def live_window(hours, horizon, listing, memo, size=WINDOW_SEGMENTS, summary=None):
    """-> (entries, media_sequence, discontinuity_sequence) of a live playlist, as window().

    hours: sorted start times of the hours that may hold data, from the origin's hour to the
    horizon's. listing(hour) -> that hour's [(segment, break_before)] (listed() of the hour's
    on_time_chain). summary(hour) -> summarize(listing(hour)) of a closed hour, possibly from
    a store (the default computes it). memo: .get(hour) -> Tally through that hour or None,
    and .put(hour, tally); only closed hours are put, so a memoised Tally never changes.
    """
    summary = summary or (lambda hour: summarize(listing(hour)))
    # The tail: the open hours, then closed ones back until the window is full. A closed
    # hour's listing is read only if its summary says it lists something.
    i, n, tail = len(hours), 0, []
    while i > 0 and (n < size or not closed(hours[i - 1], horizon)):
        hour = hours[i - 1]
        if closed(hour, horizon):
            through = memo.get(hour)
            if through is not None and not through.count:
                break  # nothing listed since the origin: e.g. a history that came by backfill
        i -= 1
        if closed(hour, horizon) and not summary(hour).count:
            part = []
        else:
            part = listing(hour)
        tail.append((hour, part))
        n += len(part)
    tail.reverse()
    base = tally_before(hours, i, summary, memo)
    listed_, tally = [], base
    for hour, part in tail:
        listed_.extend(join(part, tally))
        tally = advance(tally, summarize(part))
        if closed(hour, horizon):
            known = memo.get(hour)
            if known is not None and known[:2] != tally[:2]:
                # Hours before the tail were pruned since this hour was counted: its count
                # stands, so the numbers a player saw stay (the difference goes into the base).
                base = base._replace(count=base.count + known.count - tally.count,
                                     breaks=base.breaks + known.breaks - tally.breaks)
                tally = known
            memo.put(hour, tally)
    entries, first, breaks = window(listed_, size)
    return entries, base.count + first, base.breaks + breaks


def tally_before(hours, i, summary, memo):
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
        tally = advance(tally, summary(hour))
        memo.put(hour, tally)
    return tally
