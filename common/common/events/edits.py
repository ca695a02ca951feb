"""Validating an event's inputs before they are written (pure logic, no I/O).

The database's CHECK constraints are the last line of defence; this gives the operator (CLI)
and the editor (web page and API) every problem at once, in words, before anything is written.
Both call the same functions, so each refuses exactly what the other refuses.
"""

import re
from dataclasses import dataclass
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from common.cuts import MIN_CUT_DURATION
from common.dateutil import format_duration

# Edit inputs the cutter reads; the claim compares every one of them with what it checked.
CUT_INPUTS = ("allow_holes", "uploader_whitelist", "upload_location", "video_start", "video_end",
              "video_title", "video_description", "video_tags", "video_stream", "video_variant",
              "cut_type")
# What describes the moment (the events list shows it); the cutter never reads it.
EVENT_INFO = ("event_start", "event_end", "category", "description", "notes")
REQUIRED = ("video_start", "video_end", "video_title", "video_description", "video_stream",
            "upload_location")
CUT_TYPES = ("rough", "fast", "full")
# A stream or variant is a directory of the archive: no path tricks, no hidden names.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MANUAL_LOCATION = "manual"
# What video sites accept (YouTube's limits); the page shows the same numbers.
TITLE_MAX_CHARS = 100
TITLE_FORBIDDEN = "<>"
DESCRIPTION_MAX_BYTES = 5000  # UTF-8
TAGS_MAX_CHARS = 500  # all tags together, joined by commas


@dataclass(frozen=True)
class Known:
    """What one deployment accepts, where it is known (None: not checked). The editor knows
    its streams (from the restreamers), its upload locations and its longest cut."""
    streams: dict | None = None  # stream -> list of variants
    locations: tuple | None = None
    max_duration: timedelta | None = None


class EditError(ValueError):
    pass


def problems(values: Mapping[str, Any], known: Known | None = None,
             draft: bool = False) -> list[str]:
    """Every problem with a set of edit inputs (a dict), as a list of strings. A draft (an
    event not submitted yet) may lack required inputs; what it has must still be valid."""
    known = known or Known()
    found = [] if draft else [f"{name} is required" for name in REQUIRED
                              if values.get(name) is None or values.get(name) == ""]
    start, end = values.get("video_start"), values.get("video_end")
    if start is not None and end is not None:
        if end <= start:
            found.append(f"video_end ({end}) must be after video_start ({start})")
        elif end - start < MIN_CUT_DURATION:
            found.append(f"the video lasts {(end - start).total_seconds():g}s, less than the "
                         f"shortest cut ({MIN_CUT_DURATION.total_seconds():g}s)")
        elif known.max_duration is not None and end - start > known.max_duration:
            found.append(f"video_start to video_end is {format_duration(end - start)}, "
                         f"longer than the maximum {format_duration(known.max_duration)}")
    for name in ("video_stream", "video_variant"):
        value = values.get(name)
        if value and not _NAME_RE.match(value):
            found.append(f"{name} {value!r} is not a valid archive name "
                         "(letters, digits, '_', '-', '.'; not starting with '.')")
    if not values.get("video_variant"):
        found.append("video_variant must not be empty")
    found += _known_problems(values, known)
    if values.get("cut_type") not in (None,) + CUT_TYPES:
        found.append(f"cut_type must be one of {', '.join(CUT_TYPES)} (or unset)")
    if values.get("upload_location") == MANUAL_LOCATION:
        found.append(f"upload location {MANUAL_LOCATION!r} is reserved for manual-link")
    whitelist = values.get("uploader_whitelist")
    if whitelist is not None and not whitelist:
        found.append("uploader_whitelist must name at least one cutter (or be unset for any)")
    return found + _text_problems(values)


def _known_problems(values, known):
    found = []
    stream, variant = values.get("video_stream"), values.get("video_variant")
    if known.streams is not None and stream:
        if stream not in known.streams:
            found.append(f"unknown stream {stream!r} (known: "
                         f"{', '.join(sorted(known.streams)) or 'none'})")
        elif variant and variant not in known.streams[stream]:
            found.append(f"stream {stream!r} has no variant {variant!r} (it has: "
                         f"{', '.join(known.streams[stream]) or 'none'})")
    location = values.get("upload_location")
    if (known.locations is not None and location and location != MANUAL_LOCATION
            and location not in known.locations):
        found.append(f"unknown upload location {location!r} (known: "
                     f"{', '.join(known.locations) or 'none'})")
    return found


def _text_problems(values):
    """The limits of video sites on title, description and tags."""
    found = []
    title = values.get("video_title")
    if title is not None:
        if len(title) > TITLE_MAX_CHARS:
            found.append(f"video_title is {len(title)} characters, more than "
                         f"{TITLE_MAX_CHARS}")
        if any(c in title for c in TITLE_FORBIDDEN):
            found.append("video_title must not contain < or >")
    description = values.get("video_description")
    if description is not None and len(description.encode("utf-8")) > DESCRIPTION_MAX_BYTES:
        found.append(f"video_description is {len(description.encode('utf-8'))} bytes, more "
                     f"than {DESCRIPTION_MAX_BYTES}")
    tags = values.get("video_tags") or []
    if any(not tag for tag in tags):
        found.append("video_tags must not contain an empty tag")
    elif len(",".join(tags)) > TAGS_MAX_CHARS:
        found.append(f"video_tags are {len(','.join(tags))} characters in all (joined by "
                     f"commas), more than {TAGS_MAX_CHARS}")
    return found


def event_problems(values: Mapping[str, Any]) -> list[str]:
    """Problems with an event's description of the moment (EVENT_INFO)."""
    start, end = values.get("event_start"), values.get("event_end")
    if start is None:
        return ["event_start is required"]
    if end is not None and end <= start:
        return [f"event_end ({end}) must be after event_start ({start})"]
    return []


def validate(values: Mapping[str, Any], known: Known | None = None,
             draft: bool = False) -> None:
    """problems(), raised as one EditError if there are any."""
    found = problems(values, known, draft)
    if found:
        raise EditError("; ".join(found))
