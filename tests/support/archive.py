"""Synthetic archives on disk, made of real ffmpeg-encoded segments or of arbitrary bytes."""

import fcntl
import hashlib
import os
import subprocess
import tempfile
from datetime import timedelta

from common.segments import format_segment_path, hash_name

from support import framecode

SEGMENT_SECONDS = 2
_CACHE_ROOT = os.path.join(tempfile.gettempdir(), "archive-test-segments-v1")
_MIN_COUNT = 30


def _generate(directory, count, coded=False):
    """count consecutive 2-second MPEG-TS segments: 320x240 30 fps H.264 + AAC, keyframe each 2 s.
    coded: each frame also carries its index as machine-readable blocks (support.framecode)."""
    os.makedirs(directory, exist_ok=True)
    coding = ["-vf", framecode.drawbox_filter()] if coded else []
    subprocess.run([
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=30:duration={count * SEGMENT_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={count * SEGMENT_SECONDS}",
        *coding,
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
        "-c:a", "aac", "-b:a", "64k",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
        "-hls_segment_filename", os.path.join(directory, "seg%05d.ts"),
        os.path.join(directory, "index.m3u8"),
    ], check=True)


def real_segments(count, coded=False):
    """Paths of `count` consecutive real segments (generated once, shared by tests and benches);
    coded=True: frames carry their index (support.framecode)."""
    count_dir = os.path.join(_CACHE_ROOT, ("coded-" if coded else "") + str(max(count, _MIN_COUNT)))
    os.makedirs(_CACHE_ROOT, exist_ok=True)
    with open(os.path.join(_CACHE_ROOT, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(count_dir, "done")):
            temp = tempfile.mkdtemp(dir=_CACHE_ROOT)
            _generate(temp, max(count, _MIN_COUNT), coded)
            open(os.path.join(temp, "done"), "w").close()
            os.rename(temp, count_dir)
    paths = sorted(os.path.join(count_dir, name) for name in os.listdir(count_dir)
                   if name.endswith(".ts"))
    if len(paths) < count:
        raise RuntimeError(f"ffmpeg made {len(paths)} segments, wanted {count}")
    return paths[:count]


def write_segment(base, stream, variant, start, duration, data, type="full", hash=None):
    """Write one segment file named per the contract; the hash is computed from data."""
    if hash is None:
        hash = hash_name(hashlib.sha256(data).digest())
    path = format_segment_path(base, stream, variant, start, duration, type, hash)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def build_archive(base, stream, variant, start, count, duration=timedelta(seconds=SEGMENT_SECONDS),
                  skip=(), types=None, real=True, coded=False):
    """Write `count` consecutive segments from `start` (indices in `skip` left out, `types` maps
    index -> type). With real=True the bytes are real video (consecutive, so cuts across
    segments play; coded=True: frames carry their index, see support.framecode); otherwise small
    distinct byte strings. Returns the written paths."""
    types = types or {}
    sources = real_segments(count, coded) if real else None
    paths = []
    for i in range(count):
        if i in skip:
            continue
        if real:
            with open(sources[i], "rb") as f:
                data = f.read()
        else:
            data = f"{stream}/{variant}/{i}/{start}".encode() * 50
        paths.append(write_segment(base, stream, variant, start + i * duration, duration, data,
                                   types.get(i, "full")))
    return paths


def build_separate_audio_archive(base, stream, variant, start, count, audio="audio-en",
                                 coded=False):
    """Like build_archive(real=True), but with the sound split off into the audio rendition
    `audio` (timestamps kept, as an origin's renditions have them), tied to the video variant
    by variant.json as the downloader writes it. coded: as build_archive's."""
    from common import renditions

    duration = timedelta(seconds=SEGMENT_SECONDS)
    for i, source in enumerate(real_segments(count, coded)):
        for name, streams in ((variant, "0:v:0"), (audio, "0:a:0")):
            data = subprocess.run(
                ["ffmpeg", "-v", "error", "-nostdin", "-copyts", "-i", source, "-map", streams,
                 "-c", "copy", "-f", "mpegts", "-mpegts_copyts", "1", "-muxdelay", "0",
                 "-muxpreload", "0", "pipe:1"], capture_output=True, check=True).stdout
            write_segment(base, stream, name, start + i * duration, duration, data)
    renditions.write_info(os.path.join(base, stream, variant), renditions.video_info([audio]))
    renditions.write_info(os.path.join(base, stream, audio),
                          {"type": "audio", "name": "English", "language": "en", "default": True})
