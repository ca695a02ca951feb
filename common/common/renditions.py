"""Separate audio renditions: which variant directory holds a video variant's sound.

The contract (docs/design.md, "Separate audio renditions"); this module is its only reader and
writer. A stream whose master playlist puts a variant's sound in a playlist of its own
(`#EXT-X-MEDIA:TYPE=AUDIO,...,URI=`) is archived as ordinary variant directories, the audio as
`BASE/STREAM/audio-LANGUAGE/`, and each of them holds a small JSON file, written by the downloader
when it starts recording the variant:

    BASE/STREAM/VARIANT/variant.json
      a video variant that plays with separate audio:
          {"audio": ["audio-en", "audio-fr"]}        the first is the default (cuts take it)
      an audio rendition:
          {"type": "audio", "name": "English", "language": "en", "default": true}

A variant without the file is the usual kind: its segments carry their own sound. The restreamer
(master playlist `#EXT-X-MEDIA` audio groups, cuts) and the cutter read it through this module;
the restreamer serves it to peers (`GET /variant/STREAM/VARIANT.json`), whose backfillers copy
it (`adopt_info`: the newer copy wins) so that a node that never recorded the stream itself
plays and cuts it with its sound too.
"""

import contextlib
import fcntl
import json
import logging
import math
import os
import re
from datetime import timedelta
from collections.abc import Sequence

from .fs import atomic_write
from .segments import SegmentInfo, get_best_segments

log = logging.getLogger(__name__)

INFO_FILE = "variant.json"
MAX_INFO_BYTES = 64 * 1024   # a real one is under 200 bytes; anything larger is junk
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # a variant directory name (no / nor ..)
_AUDIO_KEYS = {"type", "name", "language", "default"}
# Audio and video segment names of a stream without program date times are anchored apart and
# may differ by up to a segment: a cut's audio is looked for this many segments wider (and then
# trimmed to the video by timestamp, common.cuts).
AUDIO_MARGIN_SEGMENTS = 2
MIN_AUDIO_MARGIN = timedelta(seconds=2)


def read_info(variant_path: str) -> dict:
    """The variant's variant.json as a dict ({} if it has none or it is unreadable)."""
    path = os.path.join(variant_path, INFO_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable %s: %s", path, e)
        return {}
    if not isinstance(info, dict):
        log.warning("ignoring %s: not a JSON object", path)
        return {}
    return info


def check_info(info: object) -> dict:
    """info if it is a variant.json this contract allows, else ValueError with the reason.
    Strict, since peers' copies are taken on trust once they pass (the backfiller)."""
    if not isinstance(info, dict):
        raise ValueError("not a JSON object")
    if info.get("type") == "audio":
        unknown = set(info) - _AUDIO_KEYS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)} in an audio rendition's info")
        for key in ("name", "language"):
            if key in info and not (isinstance(info[key], str) and info[key]):
                raise ValueError(f"{key!r} is not a non-empty string")
        if not isinstance(info.get("default", False), bool):
            raise ValueError("'default' is not true or false")
        return info
    if set(info) != {"audio"}:
        raise ValueError(f"want {{\"audio\": [...]}} or {{\"type\": \"audio\", ...}}, "
                         f"got the keys {sorted(info)}")
    names = info["audio"]
    if not isinstance(names, list) or not names:
        raise ValueError("'audio' is not a non-empty list")
    for name in names:
        if not (isinstance(name, str) and _NAME.match(name)) or name == INFO_FILE:
            raise ValueError(f"'audio' lists {name!r}, which is no variant name")
    if len(set(names)) != len(names):
        raise ValueError("'audio' lists a name twice")
    return info


def parse_info(data: bytes) -> dict:
    """A variant.json's bytes (e.g. a peer's copy) as a checked dict, else ValueError."""
    if len(data) > MAX_INFO_BYTES:
        raise ValueError(f"larger than {MAX_INFO_BYTES} bytes")
    try:
        info = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"not JSON: {e}") from None
    return check_info(info)


def info_modified(variant_path: str) -> float | None:
    """When the variant's variant.json was last written (its mtime), None without one."""
    try:
        return os.stat(os.path.join(variant_path, INFO_FILE)).st_mtime
    except FileNotFoundError:
        return None


def write_info(variant_path: str, info: dict) -> bool:
    """Write variant.json atomically (creating the directory); nothing if it is unchanged.
    What this node's downloader records: stamped with the current time."""
    check_info(info)
    os.makedirs(variant_path, exist_ok=True)
    with _locked(variant_path):
        if read_info(variant_path) == info:
            return False
        _write(variant_path, info)
    return True


def adopt_info(variant_path: str, info: dict, modified: float) -> bool:
    """Take a peer's variant.json (checked, written at `modified`, whole seconds since the
    epoch) if this node has none, or an unreadable one, or one written in an earlier second
    (the newer copy wins; a tie keeps ours). The copy keeps the peer's time, so that nodes
    copying from each other settle on the newest instead of trading copies. True if written."""
    check_info(info)
    os.makedirs(variant_path, exist_ok=True)
    # The lock keeps the downloader's write_info from landing between the check and the rename.
    with _locked(variant_path):
        ours = info_modified(variant_path)
        if ours is not None and _readable(variant_path) and math.floor(ours) >= modified:
            return False
        if ours is not None and read_info(variant_path) == info:
            os.utime(os.path.join(variant_path, INFO_FILE), (modified, modified))
            return False   # same text: only its time moves on, so peers answer 304 from now on
        _write(variant_path, info, modified)
    return True


def _readable(variant_path):
    try:
        with open(os.path.join(variant_path, INFO_FILE), "rb") as f:
            parse_info(f.read(MAX_INFO_BYTES + 1))
        return True
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _locked(variant_path):
    """Exclusive between this node's writers of the directory's variant.json (downloader and
    backfiller are separate processes): an flock on the directory. Held only across file
    calls that never yield to another greenlet, so greenlets of one process never wait on it."""
    fd = os.open(variant_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            # Explicitly: gevent's os.close defers closing a directory to its next loop turn,
            # which would keep the lock until this greenlet yields.
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write(variant_path, info, modified=None):
    """Atomic and durable (common.fs.atomic_write), its mtime set before the rename."""
    text = json.dumps(info, sort_keys=True) + "\n"
    atomic_write(os.path.join(variant_path, INFO_FILE), text, modified=modified)


def video_info(audio_names: Sequence[str]) -> dict:
    """variant.json of a video variant playing with these audio renditions."""
    return {"audio": list(audio_names)}


def is_audio_rendition(info: dict) -> bool:
    return info.get("type") == "audio"


def audio_names(info: dict) -> list[str]:
    """The audio rendition directory names a video variant's info lists (safe names only)."""
    names = info.get("audio")
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and _NAME.match(n) and n != INFO_FILE]


def audio_variant(variant_path: str) -> str | None:
    """The directory (sibling of variant_path) of the audio rendition a video variant's cuts
    take their sound from, or None if its segments carry their own."""
    parent = os.path.dirname(os.path.normpath(variant_path))
    for name in audio_names(read_info(variant_path)):
        path = os.path.join(parent, name)
        if os.path.isdir(path):
            return path
    return None


def audio_margin(pieces: Sequence[SegmentInfo]) -> timedelta:
    """How much wider than the video's segments to take the audio's (by their names)."""
    return max(MIN_AUDIO_MARGIN, AUDIO_MARGIN_SEGMENTS * max(s.duration for s in pieces))


def audio_segments(variant_path: str, segments: Sequence[SegmentInfo | None]
                   ) -> list[SegmentInfo] | None:
    """The audio for a cut of `segments` (a get_best_segments result of a video variant):
    the best segments of its audio rendition over the same time, a little wider (the cuts
    trim it to the video by timestamps), Nones left out; None if the variant has no separate
    audio (or the cut has no segments)."""
    audio_path = audio_variant(variant_path)
    pieces = [s for s in segments if s is not None]
    if audio_path is None or not pieces:
        return None
    margin = audio_margin(pieces)
    found = get_best_segments(audio_path, pieces[0].start - margin, pieces[-1].end + margin)
    return [s for s in found if s is not None]
