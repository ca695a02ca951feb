"""Timestamps and durations: everything internal is naive UTC datetime and timedelta.

utcnow() is the current time in that form (datetime.utcnow() is deprecated); parse() takes any
ISO 8601 timestamp (HLS PROGRAM-DATE-TIME, operator input) and converts it; parse_utc_only() is
for HTTP query strings, where a non-UTC time is a client error.
parse_duration()/format_duration() read and write the durations of command lines (6h, 90m).
"""

import re
from datetime import datetime, timedelta, timezone

import dateutil.parser

_UTC_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6})\d*)?)?(Z|[+-]00:?00)?")


def utcnow() -> datetime:
    """The current time as a naive UTC datetime, the form every time in the suite takes."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def parse(s: str) -> datetime:
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


def parse_utc_only(s: str) -> datetime:
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


def parse_duration(text: str) -> timedelta:
    """CLI durations: '6h', '90m', '30s', '7d', or a plain number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    factor = units.get(text[-1:], None)
    number = text[:-1] if factor else text
    try:
        value = float(number) * (factor or 1)
    except ValueError:
        raise ValueError(f"bad duration {text!r}: want e.g. 6h, 90m, 30s or seconds") from None
    if not value > 0:  # also NaN
        raise ValueError(f"duration {text!r} must be positive")
    try:
        return timedelta(seconds=value)
    except OverflowError:  # inf, 1e20...
        raise ValueError(f"duration {text!r} is too long") from None


def format_duration(delta: timedelta) -> str:
    """timedelta -> '6h', '1d2h', '90s' -> '1m30s', '6h0m0.001s' (for messages; a fraction
    of a second is shown, so a limit and what exceeds it never print the same)."""
    seconds, fraction = divmod(delta // timedelta(microseconds=1), 1_000_000)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    secs_text = f"{secs}.{fraction:06d}".rstrip("0") if fraction else str(secs)
    parts = [(days, str(days), "d"), (hours, str(hours), "h"), (minutes, str(minutes), "m"),
             (secs or fraction, secs_text, "s")]
    while parts and parts[-1][0] == 0:
        parts.pop()
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return "".join(text + unit for _, text, unit in parts) or "0s"


def format_utc_ms(dt: datetime | None) -> str | None:
    """naive UTC datetime -> '2026-11-27T13:00:00.000Z' (ISO 8601, milliseconds, truncated);
    None -> None. The editor's JSON and messages use this form."""
    if dt is None:
        return None
    return dt.isoformat(timespec="milliseconds") + "Z"
