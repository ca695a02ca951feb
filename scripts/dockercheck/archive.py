"""A node's archive as its restreamer lists it (/files), reduced to what the check prints."""

import json
import urllib.request
from datetime import timedelta


def get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def segments(base_url, stream):
    """{variant: [SegmentInfo...] sorted by start} of every full segment the node serves."""
    from common.segments import parse_segment_path  # the suite's parser (.venv)
    found = {}
    for variant in get_json(f"{base_url}/files/{stream}"):
        infos = []
        for hour in get_json(f"{base_url}/files/{stream}/{variant}"):
            for name in get_json(f"{base_url}/files/{stream}/{variant}/{hour}"):
                info = parse_segment_path(f"/{stream}/{variant}/{hour}/{name}")
                if info.type == "full":
                    infos.append(info)
        found[variant] = sorted(infos, key=lambda s: s.start)
    return found


def in_range(infos, start, end):
    return [s for s in infos if start <= s.start < end]


def longest_gap(infos, start, end):
    """Longest stretch of [start, end) that no segment covers, as (gap start, timedelta)."""
    cursor, best = start, (start, timedelta(0))
    for s in sorted(infos, key=lambda s: s.start):
        if s.start + s.duration <= cursor:
            continue
        if s.start >= end:
            break
        if s.start - cursor > best[1]:
            best = (cursor, s.start - cursor)
        cursor = max(cursor, s.start + s.duration)
    if end - cursor > best[1]:
        best = (cursor, end - cursor)
    return best
