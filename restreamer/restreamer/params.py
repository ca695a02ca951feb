"""Validating what clients send: path components, times, flags. Pure functions.

Every failure is a BadRequest (status + one-line reason) that the app turns into a 4xx.
"""

from datetime import datetime

from common.dateutil import format_duration, parse_utc_only


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
