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
(master playlist `#EXT-X-MEDIA` audio groups, cuts) and the cutter read it through this module.
"""

import json
import logging
import os
import re
import tempfile
from datetime import timedelta

from .segments import get_best_segments

log = logging.getLogger(__name__)

INFO_FILE = "variant.json"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # a variant directory name (no / nor ..)
# Audio and video segment names of a stream without program date times are anchored apart and
# may differ by up to a segment: a cut's audio is looked for this many segments wider (and then
# trimmed to the video by timestamp, common.cuts).
AUDIO_MARGIN_SEGMENTS = 2
MIN_AUDIO_MARGIN = timedelta(seconds=2)


def read_info(variant_path):
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


def write_info(variant_path, info):
    """Write variant.json atomically (creating the directory); nothing if it is unchanged."""
    if read_info(variant_path) == info:
        return False
    os.makedirs(variant_path, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".variant-", suffix=".tmp", dir=variant_path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info, f, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, os.path.join(variant_path, INFO_FILE))
    except BaseException:
        try:
            os.remove(temp)
        except OSError:
            pass
        raise
    return True


def video_info(audio_names):
    """variant.json of a video variant playing with these audio renditions."""
    return {"audio": list(audio_names)}


def is_audio_rendition(info):
    return info.get("type") == "audio"


def audio_names(info):
    """The audio rendition directory names a video variant's info lists (safe names only)."""
    names = info.get("audio")
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and _NAME.match(n) and n != INFO_FILE]


def audio_variant(variant_path):
    """The directory (sibling of variant_path) of the audio rendition a video variant's cuts
    take their sound from, or None if its segments carry their own."""
    parent = os.path.dirname(os.path.normpath(variant_path))
    for name in audio_names(read_info(variant_path)):
        path = os.path.join(parent, name)
        if os.path.isdir(path):
            return path
    return None


def audio_margin(pieces):
    """How much wider than the video's segments to take the audio's (by their names)."""
    return max(MIN_AUDIO_MARGIN, AUDIO_MARGIN_SEGMENTS * max(s.duration for s in pieces))


def audio_segments(variant_path, segments):
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
