"""Validating what clients send: path components, times, flags. Pure functions.

Every failure is a BadRequest (status + one-line reason) that the app turns into a 4xx.
"""

from datetime import datetime, timedelta

from common.dateutil import parse_utc_only


# Times a client may ask for: hour arithmetic near datetime's limits would overflow.
EARLIEST = datetime(1970, 1, 2)
LATEST = datetime(9000, 1, 1)


class BadRequest(Exception):
    """A client error: `status` (4xx) and a one-line reason as the message."""

    def __init__(self, reason, status=400):
        super().__init__(reason)
        self.status = status


def check_component(value, what):
    """A path component naming something in the archive: never empty, hidden, or a path.
    Names starting with '.' are private (e.g. BASE/.coverage) and never served by name."""
    if not value:
        raise BadRequest(f"empty {what}", 404)
    if "\x00" in value:
        raise BadRequest(f"{what} contains a NUL byte")
    if "/" in value or "\\" in value:
        raise BadRequest(f"{what} {value!r} contains a path separator", 404)
    if value.startswith("."):
        raise BadRequest(f"no such {what}: {value!r}", 404)
    return value


def parse_time(args, name, required=False):
    """A UTC ISO 8601 time from the query string, or None if absent (and not required)."""
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"missing required parameter {name} (a UTC time, "
                             "e.g. 2026-11-27T13:00:00Z)")
        return None
    try:
        parsed = parse_utc_only(value)
    except ValueError as e:
        raise BadRequest(f"bad {name}: {e}") from None
    if not EARLIEST <= parsed <= LATEST:
        raise BadRequest(f"bad {name}: {value!r} is out of range "
                         f"({EARLIEST.year} to {LATEST.year})")
    return parsed


def parse_range(args, max_duration, what, require_end):
    """-> (start, end): start required; end required if require_end, else may be None.
    Rejects end <= start and ranges longer than max_duration."""
    start = parse_time(args, "start", required=require_end)
    end = parse_time(args, "end", required=require_end)
    if end is not None and start is None:
        raise BadRequest("end given without start")
    if start is not None and end is not None:
        if end <= start:
            raise BadRequest(f"end {end.isoformat()} is not after start {start.isoformat()}")
        if end - start > max_duration:
            raise BadRequest(f"{what} range of {format_duration(end - start)} is longer than the "
                             f"maximum {format_duration(max_duration)}")
    return start, end


def parse_bool(args, name, default):
    value = args.get(name)
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(f"bad {name} {value!r}: want true or false")


def parse_choice(args, name, choices, default):
    value = args.get(name)
    if value is None or value == "":
        return default
    if value not in choices:
        raise BadRequest(f"bad {name} {value!r}: want one of {', '.join(choices)}")
    return value


def parse_duration(text):
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


def format_duration(delta):
    """timedelta -> '6h', '1d2h', '90s', '1h0m30s' (for messages)."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while parts and parts[-1][0] == 0:
        parts.pop()
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return "".join(f"{n}{unit}" for n, unit in parts) or f"{delta.total_seconds():g}s"
