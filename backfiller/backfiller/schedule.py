"""When to check which hours (pure functions of the clock and the configuration).

Two kinds of pass: a `recent` pass checks only the last few hours, where holes are still being
filled (often, default every 60 s); a `sweep` checks every hour inside --start (rarely, default
every 30 min), to catch up after a long outage of this node or of a peer.
"""

import re
from datetime import timedelta

HOUR = timedelta(hours=1)
RECENT, SWEEP = "recent", "sweep"

_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def parse_start(text):
    """--start: a number of hours back (a timedelta) or a timestamp (a naive UTC datetime)."""
    text = text.strip()
    if _NUMBER.match(text):
        try:
            back = timedelta(hours=float(text))
        except OverflowError:
            back = timedelta.max
        if back > timedelta(days=100 * 365):
            raise ValueError(f"--start: {text!r} hours is further back than 100 years")
        return back
    from common.dateutil import parse
    try:
        return parse(text)
    except (ValueError, OverflowError):
        raise ValueError(f"--start: {text!r} is neither a number of hours nor a timestamp") from None


def earliest_wanted(now, start=None, delete_older_than=None):
    """The earliest moment worth backfilling, or None for "everything".

    `start` as parsed by parse_start. Hours that --delete-older-than would prune are never
    wanted: fetching them back would make the two fight forever."""
    candidates = []
    if isinstance(start, timedelta):
        candidates.append(now - start)
    elif start is not None:
        candidates.append(start)
    if delete_older_than is not None:
        candidates.append(now - delete_older_than)
    return max(candidates) if candidates else None


def floor_hour(dt):
    return dt.replace(minute=0, second=0, microsecond=0)


def pass_kind(now, last_sweep, sweep_interval):
    """A sweep when none has run yet (start-up) or the last one is sweep_interval old."""
    if last_sweep is None or now - last_sweep >= sweep_interval:
        return SWEEP
    return RECENT


def hours_for_pass(peer_hours, kind, now, recent_hours, earliest=None):
    """The hours (datetimes) of peer_hours to check in this pass, newest first.

    `peer_hours` are datetimes (the peer's listing, already parsed). A recent pass keeps the
    `recent_hours` hours up to and including the current one; both kinds drop hours that end at
    or before `earliest`.
    """
    lower = None
    if earliest is not None:
        lower = floor_hour(earliest)
    if kind == RECENT:
        recent_floor = floor_hour(now) - (recent_hours - 1) * HOUR
        lower = recent_floor if lower is None else max(lower, recent_floor)
    chosen = {hour for hour in peer_hours if lower is None or hour >= lower}
    return sorted(chosen, reverse=True)

