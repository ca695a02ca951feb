"""common.cuts against real ffmpeg on real encoded segments: durations, frame accuracy,
holes, failures, and cleanup of processes and temporary files."""

import json
import os
import subprocess
import tempfile
import time
from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from common import cuts, renditions
from common.segments import get_best_segments
from support.archive import (build_archive, build_separate_audio_archive, real_segments,
                             write_segment)

T0 = datetime(2025, 3, 1, 12, 59, 54)  # the archive crosses an hour boundary
FPS = 30
FRAME = timedelta(seconds=1) / FPS
W, H = 320, 240


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("cuts-archive"))
    build_archive(base, "s", "v", T0, 8)
    build_archive(base, "s", "holey", T0, 8, skip=(3,))
    build_separate_audio_archive(base, "s", "sep", T0, 4)  # the sound in audio-en
    return base


def best(base, variant, start, end):
    return get_best_segments(os.path.join(base, "s", variant), start, end)


def write(chunks, path):
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    return path


def probe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "format=duration:stream=codec_type,nb_read_frames,duration", "-of", "json", path],
        capture_output=True, check=True).stdout
    info = json.loads(out)
    streams = {s["codec_type"]: s for s in info["streams"]}
    return float(info["format"]["duration"]), streams


def gray_frames(path, count=None):
    """Decoded frames as 320x240 8-bit luma, in order."""
    args = ["ffmpeg", "-v", "error", "-i", path]
    if count:
        args += ["-frames:v", str(count)]
    raw = subprocess.run(args + ["-an", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
                         capture_output=True, check=True).stdout
    size = W * H
    return [raw[i:i + size] for i in range(0, len(raw) - size + 1, size)]


def mse(a, b):
    return sum((x - y) ** 2 for x, y in zip(a[::7], b[::7])) / len(a[::7])


@pytest.fixture(scope="module")
def source_frames(tmp_path_factory):
    """Every frame of the archive's source, frame i at T0 + i/30."""
    path = str(tmp_path_factory.mktemp("source") / "all.ts")
    with open(path, "wb") as out:
        for seg in real_segments(8):
            with open(seg, "rb") as f:
                out.write(f.read())
    return gray_frames(path)


def assert_starts_at(path, source_frames, start):
    """The output's first frame is the source frame at `start`, not a neighbour."""
    first = gray_frames(path, 1)[0]
    expected = round((start - T0) / FRAME)
    errors = {i: mse(first, source_frames[i]) for i in (expected - 1, expected, expected + 1)}
    assert min(errors, key=errors.get) == expected, errors


def test_rough_cut_is_the_chosen_segments_bytes(archive, tmp_path):
    start, end = T0 + timedelta(seconds=3), T0 + timedelta(seconds=7)
    segments = best(archive, "v", start, end)
    out = write(cuts.rough_cut(segments, start, end), tmp_path / "rough.ts")
    expected = b"".join(open(s.path, "rb").read() for s in segments)
    assert out.read_bytes() == expected
    duration, _ = probe(str(out))
    assert abs(duration - 4) <= 2 + 0.1  # may overrun by up to a segment at each end


@pytest.mark.parametrize("container", ["mpegts", "mp4"])
def test_fast_cut_is_frame_accurate(archive, tmp_path, source_frames, container, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    # Crosses the hour boundary; starts and ends mid-segment: both edges are re-encoded.
    start, end = T0 + timedelta(seconds=3.5), T0 + timedelta(seconds=11.25)
    out = str(write(cuts.fast_cut(best(archive, "v", start, end), start, end, container),
                    tmp_path / f"fast.{container}"))
    assert os.listdir(temp) == []  # edges and the spooled MP4 are gone
    duration, streams = probe(out)
    frames = int(streams["video"]["nb_read_frames"])
    assert abs(frames - (end - start) / FRAME) <= 1
    assert abs(float(streams["video"]["duration"]) - 7.75) <= 1 / FPS + 1e-3
    # AAC frames are 1024 samples at 48 kHz; copied audio is accurate to about one frame.
    assert abs(int(streams["audio"]["nb_read_frames"]) * 1024 / 48000 - 7.75) <= 0.05
    assert_starts_at(out, source_frames, start)
    # The interior is stream-copied: its frames are the source's bit for bit, and no frame
    # repeats at the joins (a frozen frame would match its predecessor exactly).
    decoded = gray_frames(out)
    assert len(decoded) == frames
    offset = round((start - T0) / FRAME)
    copied = [i for i in range(len(decoded)) if decoded[i] == source_frames[offset + i]]
    assert len(copied) >= 150
    assert all(decoded[i] != decoded[i + 1] for i in range(len(decoded) - 1))


def test_fast_cut_within_one_segment(archive, tmp_path, source_frames):
    start, end = T0 + timedelta(seconds=4.4), T0 + timedelta(seconds=5.5)
    out = str(write(cuts.fast_cut(best(archive, "v", start, end), start, end),
                    tmp_path / "one.ts"))
    _, streams = probe(out)
    assert abs(int(streams["video"]["nb_read_frames"]) - 33) <= 1
    assert_starts_at(out, source_frames, start)


@pytest.mark.parametrize("container", ["mpegts", "mp4"])
def test_full_cut_duration_and_first_frame(archive, tmp_path, source_frames, container):
    start, end = T0 + timedelta(seconds=1.1), T0 + timedelta(seconds=6.6)
    args = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    out = str(write(cuts.full_cut(best(archive, "v", start, end), start, end, args, container),
                    tmp_path / f"full.{container}"))
    _, streams = probe(out)
    assert abs(int(streams["video"]["nb_read_frames"]) - 165) <= 1
    assert_starts_at(out, source_frames, start)


@pytest.mark.parametrize("container", ["mpegts", "mp4"])
def test_full_cut_with_separate_sound_ending_early_in_a_segment(archive, tmp_path, container):
    """The separate sound's muxer gives whole segments to an ffmpeg -t, which stops reading once
    it has the range (the muxer's next write then fails: a broken pipe). That is no failure of
    the cut, and the cut has the video and the sound of the range."""
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=4.2)
    video = os.path.join(archive, "s", "sep")
    segments = get_best_segments(video, start, end)
    audio = renditions.audio_segments(video, segments)
    args = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    out = write(cuts.full_cut(segments, start, end, args, container, audio=audio),
                tmp_path / f"full.{container}")
    _, streams = probe(str(out))
    assert abs(int(streams["video"]["nb_read_frames"]) - 3.2 * FPS) <= 1
    assert abs(int(streams["audio"]["nb_read_frames"]) * 1024 / 48000 - 3.2) <= 3 * 1024 / 48000


@pytest.mark.parametrize("kind", ["fast", "full"])
def test_cut_across_a_hole_joins_what_exists(archive, tmp_path, kind):
    start, end = T0 + timedelta(seconds=3), T0 + timedelta(seconds=11)
    segments = best(archive, "holey", start, end)
    assert None in segments  # segment 3 (6 s to 8 s) is missing
    if kind == "fast":
        chunks = cuts.fast_cut(segments, start, end)
    else:
        chunks = cuts.full_cut(segments, start, end, ["-c:v", "libx264", "-preset", "ultrafast",
                                                      "-c:a", "aac"])
    _, streams = probe(str(write(chunks, tmp_path / "holey.ts")))
    assert abs(int(streams["video"]["nb_read_frames"]) - 6 * FPS) <= 1


def test_bad_arguments_raise_cut_error(archive):
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)
    segments = best(archive, "v", start, end)
    with pytest.raises(cuts.CutError, match="container"):
        next(cuts.fast_cut(segments, start, end, "avi"))
    with pytest.raises(cuts.CutError, match="not after"):
        next(cuts.rough_cut(segments, end, start))
    with pytest.raises(cuts.CutError, match="no segments"):
        next(cuts.full_cut([None], start, end, cuts.DEFAULT_ENCODE_ARGS))
    with pytest.raises(cuts.CutError, match="list"):
        next(cuts.full_cut(segments, start, end, "-c:v libx264"))
    with pytest.raises(cuts.CutError, match="shorter than the minimum of 0.1s"):
        next(cuts.fast_cut(segments, start, start + cuts.MIN_CUT_DURATION - FRAME / 1000))


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_cuts_are_timed_per_second_of_video(archive, tmp_path):
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=5)
    segments = best(archive, "v", start, end)
    labels = dict(type="fast", container="mp4")
    count, per_second = (sample("cut_latency_seconds_count", **labels),
                         sample("cut_normalized_latency_seconds_sum", **labels))
    started = time.monotonic()
    write(cuts.fast_cut(segments, start, end, container="mp4"), tmp_path / "timed.mp4")
    elapsed = time.monotonic() - started
    assert sample("cut_latency_seconds_count", **labels) == count + 1
    # 4 seconds of video: the time per second of video is a quarter of the cut's wall time.
    added = sample("cut_normalized_latency_seconds_sum", **labels) - per_second
    assert 0 < added <= elapsed / 4
    rough = sample("cut_latency_seconds_count", type="rough", container="mpegts")
    write(cuts.rough_cut(segments, start, end), tmp_path / "timed.ts")
    assert sample("cut_latency_seconds_count", type="rough", container="mpegts") == rough + 1
    # A cut its consumer closes early (a client gone) is not a finished cut: not recorded.
    chunks = cuts.rough_cut(segments, start, end)
    next(chunks)
    chunks.close()
    assert sample("cut_latency_seconds_count", type="rough", container="mpegts") == rough + 1


def test_ffmpeg_failure_says_why(tmp_path):
    base = str(tmp_path)
    paths = build_archive(base, "s", "junk", T0, 3, real=False)  # not video at all
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=5)
    segments = best(base, "junk", start, end)
    with pytest.raises(cuts.CutError) as e:
        b"".join(cuts.full_cut(segments, start, end, cuts.DEFAULT_ENCODE_ARGS))
    assert "ffmpeg" in str(e.value)
    with pytest.raises(cuts.CutError, match="could not read segment|no audio or video"):
        b"".join(cuts.fast_cut(segments, start, end))
    os.unlink(paths[0])
    with pytest.raises(cuts.CutError, match="cannot read segment"):
        b"".join(cuts.rough_cut(segments, start, end))


def _children():
    """Our ffmpeg/ffprobe child processes (other tests' session fixtures may run ffmpeg too:
    compare against a snapshot taken before the cut)."""
    pids = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids += f.read().split()
    ours = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() in ("ffmpeg", "ffprobe"):
                    ours.append(pid)
        except FileNotFoundError:
            pass
    return ours


@pytest.mark.parametrize("container", ["mpegts", "mp4"])
def test_closing_a_cut_early_kills_ffmpeg_and_removes_temp_files(archive, tmp_path,
                                                                  monkeypatch, container):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    start, end = T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=15.5)
    before = set(_children())   # e.g. a session-wide live HLS origin's ffmpeg
    gen = cuts.fast_cut(best(archive, "v", start, end), start, end, container)
    assert next(gen)
    if container == "mpegts":
        assert set(_children()) - before  # still producing: blocked on its full output pipe
    assert os.listdir(tmp_path)  # re-encoded edges, or the spooled mp4
    gen.close()
    assert set(_children()) - before == set()
    assert os.listdir(tmp_path) == []


def test_fast_cut_of_segments_with_b_frames(tmp_path):
    """Sources with B-frames decode later than they display: the re-encoded edges must keep
    decode timestamps increasing across the joins (else players stutter or drop frames)."""
    source = tmp_path / "src"
    source.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=30:duration=8", "-f", "lavfi", "-i",
                    "sine=sample_rate=48000:duration=8", "-c:v", "libx264", "-preset", "fast",
                    "-bf", "3", "-g", "60", "-sc_threshold", "0", "-c:a", "aac", "-f", "segment",
                    "-segment_time", "2", "-segment_format", "mpegts",
                    str(source / "%d.ts")], check=True)
    base = str(tmp_path / "archive")
    for i in range(4):
        write_segment(base, "s", "b", T0 + i * timedelta(seconds=2), timedelta(seconds=2),
                      (source / f"{i}.ts").read_bytes())
    start, end = T0 + timedelta(seconds=1.5), T0 + timedelta(seconds=6.5)
    out = str(write(cuts.fast_cut(best(base, "b", start, end), start, end), tmp_path / "b.ts"))
    dts = [int(line.split(",")[0]) for line in subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=dts",
         "-of", "csv=p=0", out], capture_output=True, text=True, check=True).stdout.split()
        if line.strip(",").isdigit()]
    # Decode times advance by at least a frame (3000 at 90 kHz). Had an edge decoded too late,
    # ffmpeg would have bumped the next timestamps by a tick to keep them increasing.
    steps = [b - a for a, b in zip(dts, dts[1:])]
    assert min(steps) >= 2990, steps
    _, streams = probe(out)
    assert abs(int(streams["video"]["nb_read_frames"]) - 150) <= 1


def test_fast_cut_when_segments_use_other_stream_ids(tmp_path, source_frames):
    """Edges normally take the interior's MPEG-TS stream ids so its bytes join them as they
    are; if segments disagree (e.g. from another origin), the interior is remuxed instead."""
    base = str(tmp_path / "archive")
    sources = real_segments(5)
    for i, path in enumerate(sources):
        if i in (1, 2, 3):  # the interior: other PIDs, timestamps untouched
            data = subprocess.run(
                ["ffmpeg", "-v", "error", "-copyts", "-i", path, "-map", "0", "-c", "copy",
                 "-streamid", "0:0x200", "-streamid", "1:0x201", "-f", "mpegts",
                 "-mpegts_copyts", "1", "-muxdelay", "0", "-muxpreload", "0", "pipe:1"],
                capture_output=True, check=True).stdout
        else:
            data = open(path, "rb").read()
        write_segment(base, "s", "mixed", T0 + i * timedelta(seconds=2), timedelta(seconds=2),
                      data)
    start, end = T0 + timedelta(seconds=1.2), T0 + timedelta(seconds=9.1)
    out = str(write(cuts.fast_cut(best(base, "mixed", start, end), start, end),
                    tmp_path / "mixed.ts"))
    _, streams = probe(out)
    assert abs(int(streams["video"]["nb_read_frames"]) - (end - start) / FRAME) <= 1
    assert_starts_at(out, source_frames, start)


@pytest.mark.parametrize("start_s, end_s", [(4, 9.5), (3.3, 10), (4, 10), (0, 16)])
def test_fast_cut_with_edges_on_segment_boundaries(archive, tmp_path, source_frames,
                                                   start_s, end_s):
    start, end = T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s)
    out = str(write(cuts.fast_cut(best(archive, "v", start, end), start, end),
                    tmp_path / "aligned.ts"))
    _, streams = probe(out)
    assert abs(int(streams["video"]["nb_read_frames"]) - (end - start) / FRAME) <= 1
    assert_starts_at(out, source_frames, start)
