"""Checks every test of a recorded archive makes: each stored segment decodes, and no two files
hold the same bytes (the same segment under two names breaks backfill and cross-node cuts)."""

import hashlib
import json
import subprocess
from collections import Counter

from support.hls_origin import archived


def stored(base, stream, variant, types=("full",)):
    return [s for s in archived(base, stream, variant) if s.type in types]


def read(path, byterange=None):
    with open(path, "rb") as f:
        data = f.read()
    if byterange is not None:
        offset, length = byterange
        data = data[offset:offset + length]
    return data


def streams_of(path):
    """The codec types of a file's streams; fails the test if ffprobe cannot decode it."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "json",
         "file:" + path], capture_output=True, text=True)
    assert probe.returncode == 0 and not probe.stderr.strip(), f"{path}: {probe.stderr}"
    return sorted(s["codec_type"] for s in json.loads(probe.stdout)["streams"])


def decodes(path):
    """ffmpeg decodes every frame of the file without an error."""
    run = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", "file:" + path, "-f", "null",
                          "-"], capture_output=True, text=True)
    return run.returncode == 0 and not run.stderr.strip()


def assert_all_decode(segments, kinds):
    for segment in segments:
        assert streams_of(segment.path) == sorted(kinds), segment.path
        assert decodes(segment.path), segment.path


def assert_no_duplicate_bytes(segments):
    digests = Counter(hashlib.sha256(read(s.path)).hexdigest() for s in segments)
    assert [d for d, n in digests.items() if n > 1] == []
