"""Facts about variants for master playlists: measured bandwidth, resolution and codecs."""

import json
import logging
import os
import subprocess
import time

from common.segments import parse_hour, parse_segment_path, read_hour

log = logging.getLogger(__name__)

SAMPLE_SEGMENTS = 120

# h264 profile names (ffprobe) -> profile_idc and constraint flags of an RFC 6381 avc1 string.
_AVC_PROFILES = {
    "Constrained Baseline": "42E0", "Baseline": "4200", "Main": "4D40", "Extended": "5800",
    "High": "6400", "High 10": "6E00", "High 4:2:2": "7A00", "High 4:4:4 Predictive": "F400",
}
_AAC_PROFILES = {"LC": "mp4a.40.2", "HE-AAC": "mp4a.40.5", "HE-AACv2": "mp4a.40.29"}

# (stream, variant) -> (monotonic time probed, (resolution or None, codecs or None)). A probe is
# redone after PROBE_MAX_AGE (a stream may change resolution under the same variant name), and
# only the PROBE_CACHE_SIZE most recently probed variants are kept.
_probe_cache = {}
PROBE_MAX_AGE = 600
PROBE_CACHE_SIZE = 256


def hours_in_range(hours_path, start, end):
    """Names of the hour directories of a variant that may hold data in [start, end)
    (either may be None: unbounded), sorted."""
    try:
        names = os.listdir(hours_path)
    except OSError:
        return []
    first = start.replace(minute=0, second=0, microsecond=0) if start else None
    hours = []
    for name in names:
        try:
            hour = parse_hour(name)
        except ValueError:
            continue
        if (first is None or hour >= first) and (end is None or hour < end):
            hours.append(name)
    return sorted(hours)


def sample_segments(hours_path, hours):
    """(path, size, duration seconds) of up to SAMPLE_SEGMENTS segments, newest hour first."""
    sample = []
    for hour in reversed(hours):
        hour_path = os.path.join(hours_path, hour)
        try:
            names = sorted(read_hour(hour_path) or (), reverse=True)
        except OSError:
            continue
        for name in names:
            path = os.path.join(hour_path, name)
            try:
                info = parse_segment_path(path)
            except ValueError:
                continue
            if info.type == "temp":
                continue
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            sample.append((path, size, info.duration.total_seconds()))
            if len(sample) >= SAMPLE_SEGMENTS:
                return sample
        if sample:
            return sample
    return sample


def variant_info(base_dir, stream, variant, start, end):
    """dict for playlists.master_playlist, or None if the variant has no data in the range."""
    hours_path = os.path.join(base_dir, stream, variant)
    sample = sample_segments(hours_path, hours_in_range(hours_path, start, end))
    sample = [s for s in sample if s[1] > 0 and s[2] > 0]
    if not sample:
        return None
    peak = max(size * 8 / duration for _, size, duration in sample)
    average = sum(size for _, size, _ in sample) * 8 / sum(d for _, _, d in sample)
    info = {"stream": stream, "name": variant, "bandwidth": round(peak),
            "average_bandwidth": round(average)}
    resolution, codecs = probe_variant(stream, variant, sample[0][0])
    if resolution:
        info["resolution"] = resolution
    if codecs:
        info["codecs"] = codecs
    return info


def probe_variant(stream, variant, path, now=time.monotonic):
    """(RESOLUTION, CODECS) of a variant, from ffprobe of one segment; cached per variant for
    PROBE_MAX_AGE seconds."""
    key = (stream, variant)
    cached = _probe_cache.get(key)
    if cached is not None and now() - cached[0] < PROBE_MAX_AGE:
        return cached[1]
    result = _probe(path)
    if result != (None, None):  # a failure (e.g. a corrupt segment) is retried next time
        _probe_cache.pop(key, None)  # re-inserted as the newest
        _probe_cache[key] = (now(), result)
        while len(_probe_cache) > PROBE_CACHE_SIZE:
            del _probe_cache[next(iter(_probe_cache))]
    elif cached is not None:
        return cached[1]  # keep what we knew rather than lose it to one bad segment
    return result


def _probe(path):
    try:
        proc = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries",
             "stream=codec_type,codec_name,profile,level,width,height", "-of", "json",
             "file:" + path], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("could not probe %s: %s", path, e)
        return None, None
    if proc.returncode != 0:
        log.warning("could not probe %s: %s", path, proc.stderr.decode(errors="replace").strip())
        return None, None
    try:
        streams = json.loads(proc.stdout).get("streams", [])
    except ValueError:
        return None, None
    return describe_streams(streams)


def describe_streams(streams):
    """ffprobe's JSON stream objects -> (RESOLUTION or None, CODECS or None). CODECS is given only if
    every audio/video stream is recognised (a partial list would mislead players)."""
    resolution = None
    codecs = []
    known = True
    for s in streams:
        kind, name = s.get("codec_type"), s.get("codec_name")
        if kind == "video":
            width, height = s.get("width"), s.get("height")
            if isinstance(width, int) and isinstance(height, int) and not resolution:
                resolution = f"{width}x{height}"
            profile = _AVC_PROFILES.get(s.get("profile", ""))
            level = s.get("level")
            if name == "h264" and profile and isinstance(level, int) and level > 0:
                codecs.append(f"avc1.{profile}{int(level):02X}")
            else:
                known = False
        elif kind == "audio":
            codec = _AAC_PROFILES.get(s.get("profile", "")) if name == "aac" else None
            if name == "mp3":
                codec = "mp4a.40.34"
            if codec:
                codecs.append(codec)
            else:
                known = False
    return resolution, (",".join(codecs) if known and codecs else None)
