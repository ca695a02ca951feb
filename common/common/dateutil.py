"""Timestamps: everything internal is naive UTC datetime.

parse() takes any ISO 8601 timestamp (HLS PROGRAM-DATE-TIME, operator input) and converts it;
parse_utc_only() is for HTTP query strings, where a non-UTC time is a client error.
"""

import re
from datetime import datetime, timezone

import dateutil.parser

_UTC_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6})\d*)?)?(Z|[+-]00:?00)?")


def parse(s):
    """Any ISO 8601 timestamp, with or without zone -> naive UTC datetime (no zone = UTC)."""
    try:
        dt = dateutil.parser.isoparse(s)
    except (ValueError, OverflowError, TypeError) as e:
        raise ValueError(f"not an ISO 8601 timestamp: {s!r} ({e})") from None
    if dt.tzinfo is not None:
        try:
            dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00+05:00 is before year 1 in UTC
            raise ValueError(f"not a representable time in UTC: {s!r}") from None
    return dt


def parse_utc_only(s):
    """A UTC timestamp ('Z', '+00:00' or no zone; fraction optional) -> naive datetime.
    Raises ValueError for anything else, including other zones."""
    m = _UTC_RE.fullmatch(s.strip()) if isinstance(s, str) else None
    if m is None:
        raise ValueError(f"not a UTC ISO 8601 timestamp (e.g. 2026-11-27T13:00:00Z): {s!r}")
    year, month, day, hour, minute, second, frac, _ = m.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute),
                        int(second or 0), int((frac or "0").ljust(6, "0")))
    except ValueError as e:
        raise ValueError(f"not a valid time: {s!r} ({e})") from None


def human_duration(seconds):
    """A duration for people, to the second: '42s', '3m07s', '2h05m' (whole seconds)."""
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
