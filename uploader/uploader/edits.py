"""Validating an event's edit inputs before it becomes EDITED (pure logic, no I/O).

The database's CHECK constraints are the last line of defence; this gives the operator every
problem at once, in words, before anything is written.
"""

import re

from common.cuts import MIN_CUT_DURATION

# Edit inputs the cutter reads; the claim compares every one of them with what it checked.
CUT_INPUTS = ("allow_holes", "uploader_whitelist", "upload_location", "video_start", "video_end",
              "video_title", "video_description", "video_tags", "video_stream", "video_variant",
              "cut_type")
REQUIRED = ("video_start", "video_end", "video_title", "video_description", "video_stream",
            "upload_location")
CUT_TYPES = ("rough", "fast", "full")
# A stream or variant is a directory of the archive: no path tricks, no hidden names.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MANUAL_LOCATION = "manual"


class EditError(ValueError):
    pass


def problems(values):
    """Every problem with a complete set of edit inputs (a dict), as a list of strings."""
    found = [f"{name} is required" for name in REQUIRED
             if values.get(name) is None or values.get(name) == ""]
    start, end = values.get("video_start"), values.get("video_end")
    if start is not None and end is not None and end <= start:
        found.append(f"video_end ({end}) must be after video_start ({start})")
    elif start is not None and end is not None and end - start < MIN_CUT_DURATION:
        found.append(f"the video lasts {(end - start).total_seconds():g}s, less than the "
                     f"shortest cut ({MIN_CUT_DURATION.total_seconds():g}s)")
    for name in ("video_stream", "video_variant"):
        value = values.get(name)
        if value and not _NAME_RE.match(value):
            found.append(f"{name} {value!r} is not a valid archive name "
                         "(letters, digits, '_', '-', '.'; not starting with '.')")
    if not values.get("video_variant"):
        found.append("video_variant must not be empty")
    if values.get("cut_type") not in (None,) + CUT_TYPES:
        found.append(f"cut_type must be one of {', '.join(CUT_TYPES)} (or unset)")
    if values.get("upload_location") == MANUAL_LOCATION:
        found.append(f"upload location {MANUAL_LOCATION!r} is reserved for manual-link")
    whitelist = values.get("uploader_whitelist")
    if whitelist is not None and not whitelist:
        found.append("uploader_whitelist must name at least one cutter (or be unset for any)")
    return found


def validate(values):
    found = problems(values)
    if found:
        raise EditError("; ".join(found))
