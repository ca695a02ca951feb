"""Cutting a time range out of the archive: generators of the output video's bytes.

API (used by the restreamer's /cut endpoint and by the cutter; keep it stable):

- `rough_cut(segments, start, end, audio=None, progress=None)`: the chosen segments' bytes,
  concatenated as they are (MPEG-TS). Instant; may start and end up to a segment away from the
  range.
- `fast_cut(segments, start, end, container='mpegts', audio=None, progress=None)`:
  frame-accurate cut. The interior is stream-copied; only the first and last segments are
  re-encoded (video; audio is copied, so audio is accurate to one audio frame). Timestamps stay
  continuous across the joins.
- `full_cut(segments, start, end, encode_args, container='mpegts', audio=None,
  progress=None)`: one ffmpeg re-encode of the whole range with `encode_args` (a list of ffmpeg
  output options, e.g. `['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-c:a', 'aac']`;
  `DEFAULT_ENCODE_ARGS` if you have no preference).

A range shorter than `MIN_CUT_DURATION` (0.1 s) is refused (CutError): it may hold no frame at
all, which ffmpeg cannot make a video of. Callers that validate input earlier (the restreamer's
400, the edit checks) use the same constant.

`segments` is a `common.segments.get_best_segments()` result for (start, end): SegmentInfo
objects with None at discontinuities. Leading and trailing Nones are ignored; with holes inside,
the output joins the pieces that exist (the gaps are left out of the timeline).

`audio`: for a video variant whose sound is a separate rendition, that rendition's segments
around the range (`common.renditions.audio_segments`), else None. Each cut then takes its sound
from them, aligned to the video by timestamp (the two timelines' names may differ by up to a
segment; their timestamps come from one encoder): the audio is trimmed to exactly the video's
time span of each part (stream copy, so to one audio frame) and muxed with it. A rough cut is
then a stream-copy mux of the two, not a byte concatenation.
`container` is 'mpegts' (streams as ffmpeg produces it) or 'mp4' (needs a seekable file, so
ffmpeg writes a temporary file that is streamed once complete and then removed).

Each takes an optional `progress(done_seconds, total_seconds)` callback: called as the output
advances (at most about once a second; ffmpeg's `-progress` report for fast and full cuts and
for a rough cut with separate audio (its muxing ffmpeg), each segment read for a plain rough
cut), with seconds of the output made so far and its expected length, and once more with
done == total when the cut is complete.

Each is a generator of bytes chunks. ffmpeg starts only when the generator is first advanced;
closing the generator early (a client that went away) kills every ffmpeg it started at once and
removes its temporary files. A failure raises `CutError` whose message says what failed and
ffmpeg's own last error line. Work runs in ffmpeg subprocesses driven by gevent, so other
greenlets keep running while a cut is produced.

Each cut is timed (`common.stats.timed`): `cut_latency_seconds{type, container}` and
`cut_normalized_latency_seconds`, wall seconds per second of video cut. A generator's time runs
until it is exhausted, so it includes its consumer's (a client receiving the cut, an upload);
a cut closed early is not recorded.
"""

import json
import logging
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import NamedTuple, Optional

import gevent
from gevent import subprocess

from .renditions import audio_margin
from .segments import SegmentInfo
from .stats import timed

log = logging.getLogger(__name__)

CONTAINERS = ("mpegts", "mp4")
CHUNK_SIZE = 256 * 1024
DEFAULT_ENCODE_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                       "-c:a", "aac", "-b:a", "128k"]
# Video encoding for the re-encoded edges of a fast cut: high quality, so the joins are not
# visible (B-frame settings are chosen per edge, see _reorder_args).
EDGE_VIDEO_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16"]
# A timestamp jump longer than this between consecutive packets is a hole we removed; ffmpeg
# closes it up so the output's timeline has no gap (smaller jumps are normal jitter).
HOLE_THRESHOLD_SECONDS = "0.5"
FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
# Only the main picture and sound: drop timed-ID3 and other data streams the origin carries.
MAP_AV = ["-map", "0:v:0?", "-map", "0:a:0?"]
MPEGTS_OUT = ["-f", "mpegts"]
MP4_OUT = ["-f", "mp4", "-movflags", "+faststart"]
# The shortest range worth cutting: a shorter one may hold no frame at all.
MIN_CUT_DURATION = timedelta(milliseconds=100)
# Wall seconds per second of video: from a rough cut's copy (~1e-4) to a slow re-encode (>1).
CUT_SPEED_BUCKETS = (1e-4, 3e-4, 1e-3, 3e-3, .01, .03, .1, .3, 1, 3, 10)


# get_best_segments' answer: segments, None at each discontinuity.
Segments = Sequence[SegmentInfo | None]
# progress(done_seconds, total_seconds), see the module docs.
Progress = Callable[[float, float], None]


class CutError(Exception):
    """A cut could not be made: bad arguments, a missing segment, or ffmpeg failed (why)."""


def _video_seconds(ret, segments, start, end, *args, **kwargs):
    return (end - start).total_seconds()


def _timed_cut(cut_type, container_position=None):
    """timed() for a cut function whose `container` argument is at that position (None: it
    has none and makes MPEG-TS)."""
    def container(ret, *args, **kwargs):
        if container_position is None:
            return "mpegts"
        if "container" in kwargs:
            return kwargs["container"]
        return args[container_position] if len(args) > container_position else "mpegts"
    return timed("cut", normalize=_video_seconds, unit="second of video",
                 normalized_buckets=CUT_SPEED_BUCKETS, type=lambda *a, **k: cut_type,
                 container=container)


@_timed_cut("rough")
def rough_cut(segments: Segments, start: datetime, end: datetime,
              audio: Sequence[SegmentInfo] | None = None,
              progress: Progress | None = None) -> Iterator[bytes]:
    """The segments' bytes concatenated, unchanged (MPEG-TS); with separate audio, the
    segments stream-copied together with their sound (original timestamps kept)."""
    pieces = _pieces(segments, start, end)
    if audio is None:
        total, done = _covered(pieces, start, end).total_seconds(), 0.0
        for piece in pieces:
            yield from _read_files([piece.path])
            if progress is not None:
                done += _covered([piece], start, end).total_seconds()
                progress(min(done, total), total)
        return
    sound = _Sound(audio, pieces)
    with _Workspace() as work:
        begin, finish, frame_rate = _span(pieces[0], pieces[-1])
        # The output is the whole segments; the muxing ffmpeg keeps their timestamps, so its
        # progress is counted in video frames (see _Progress).
        report = _Progress.start(work, progress, sum((s.duration for s in pieces), timedelta(0)),
                                 copyts=True, frame_rate=frame_rate)
        final = _with_sound(work, work.cat([s.path for s in pieces]), sound, pieces[0],
                            pieces[-1], begin, finish, report)
        yield from work.drain(final)
        if report is not None:
            report.finish()


@_timed_cut("fast", container_position=3)
def fast_cut(segments: Segments, start: datetime, end: datetime, container: str = "mpegts",
             audio: Sequence[SegmentInfo] | None = None,
             progress: Progress | None = None) -> Iterator[bytes]:
    """Frame-accurate cut re-encoding only the first and last segments (see module docs)."""
    _check_container(container)
    pieces = _pieces(segments, start, end)
    _check_readable(pieces)
    sound = None if audio is None else _Sound(audio, pieces)
    with _Workspace() as work:
        parts = _fast_cut_input(work, pieces, start, end, sound)
        yield from work.output("joining the cut's parts",
                               FFMPEG + ["-f", "mpegts", "-dts_delta_threshold",
                                         HOLE_THRESHOLD_SECONDS, "-i", "pipe:0"]
                               + MAP_AV + ["-c", "copy"], container, parts,
                               _Progress.start(work, progress, _covered(pieces, start, end)))


@_timed_cut("full", container_position=4)
def full_cut(segments: Segments, start: datetime, end: datetime, encode_args: Sequence[str],
             container: str = "mpegts", audio: Sequence[SegmentInfo] | None = None,
             progress: Progress | None = None) -> Iterator[bytes]:
    """One ffmpeg re-encode of the range with encode_args (see module docs)."""
    _check_container(container)
    if isinstance(encode_args, str):
        raise CutError("encode_args must be a list of ffmpeg arguments, not a string")
    pieces = _pieces(segments, start, end)
    _check_readable(pieces)
    sound = None if audio is None else _Sound(audio, pieces)
    # Timestamps in ffmpeg's output count from the first segment's start, holes closed up.
    offset = max(start - pieces[0].start, timedelta(0))
    duration = _covered(pieces, start, end)
    with _Workspace() as work:
        source = work.cat([s.path for s in pieces])
        if sound is not None:
            begin, finish, _ = _span(pieces[0], pieces[-1])
            source = _with_sound(work, source, sound, pieces[0], pieces[-1], begin, finish)
        yield from work.output("re-encoding the cut",
                               FFMPEG + ["-f", "mpegts", "-dts_delta_threshold",
                                         HOLE_THRESHOLD_SECONDS, "-i", "pipe:0"] + MAP_AV
                               + ["-ss", _seconds(offset), "-t", _seconds(duration)]
                               + list(encode_args),
                               container, source, _Progress.start(work, progress, duration))


# --- helpers -----------------------------------------------------------------------------------

def _check_container(container):
    if container not in CONTAINERS:
        raise CutError(f"unknown container {container!r} (want one of {', '.join(CONTAINERS)})")


def _pieces(segments, start, end):
    """The segments that exist, in order; CutError if there is nothing to cut."""
    if end <= start:
        raise CutError(f"end {end} is not after start {start}")
    if end - start < MIN_CUT_DURATION:
        raise CutError(f"the range {start} to {end} is shorter than the minimum of "
                       f"{MIN_CUT_DURATION.total_seconds():g}s")
    pieces = [s for s in segments if s is not None and s.end > start and s.start < end]
    if not pieces:
        raise CutError(f"no segments between {start} and {end}")
    return pieces


def _covered(pieces, start, end):
    """How much of [start, end) the pieces cover: the output's duration."""
    return sum((min(s.end, end) - max(s.start, start) for s in pieces), timedelta(0))


def _seconds(delta):
    micros = delta // timedelta(microseconds=1)
    return f"{micros // 1000000}.{micros % 1000000:06d}"


def _read_files(paths):
    for path in paths:
        try:
            f = open(path, "rb")
        except OSError as e:
            raise CutError(f"cannot read segment {path}: {e.strerror}") from None
        with f:
            while True:
                chunk = f.read(CHUNK_SIZE)
                if not chunk:
                    break
                yield chunk


def _check_readable(pieces):
    """Fail before starting anything if a segment has gone (e.g. deleted by a cleanup)."""
    for segment in pieces:
        if not os.access(segment.path, os.R_OK):
            raise CutError(f"cannot read segment {segment.path}")


def _fast_cut_input(work, pieces, start, end, sound=None):
    """A process whose stdout is the cut as MPEG-TS with original timestamps.

    The edges are re-encoded with their original timestamps kept (-copyts) and muxed with the
    interior's stream ids (PIDs), so the edges and the interior's own bytes concatenate into one
    continuous stream for the joining ffmpeg. Should the segments' layouts differ (or be one
    ffmpeg cannot reproduce), the interior is remuxed with ffmpeg's default layout instead, like
    the edges. With separate sound, every part is remuxed so, with the sound of exactly its
    video's time span. Bytes flow between processes through OS pipes, never through Python."""
    first, last = pieces[0], pieces[-1]
    head_cut = start > first.start
    tail_cut = end < last.end
    if len(pieces) == 1 and (head_cut or tail_cut):
        offset = max(start - first.start, timedelta(0))
        duration = min(end, first.end) - max(start, first.start)
        probe = _probe(first.path)
        audio = None if sound is None else sound.between(
            work, first, first, probe.origin + offset, probe.origin + offset + duration)
        edge = _encode_edge(work, first, probe, offset, duration, None, audio)
        return work.cat([edge])
    middle = pieces[:]
    edges = []
    if head_cut:
        edges.append((middle.pop(0), start - first.start, None))
    if tail_cut:
        edges.append((middle.pop(), timedelta(0), end - last.start))
    # Probed concurrently: the edges, the interior's first segment (its stream layout; with
    # sound, where it starts) and, with sound and no tail, its last one (where it ends).
    probed = [segment for segment, _, _ in edges]
    if middle and (edges or sound is not None):
        probed.append(middle[0])
    if middle and sound is not None and not tail_cut:
        probed.append(middle[-1])
    probes = _concurrently([(_probe, segment.path) for segment in probed])
    edge_probes, inner = probes[:len(edges)], probes[len(edges):]
    layout = inner[0].layout if middle and edges else None
    direct = sound is None and layout is not None and _valid_layout(layout) and all(
        probe.layout == layout for probe in edge_probes)
    edge_sounds = [None] * len(edges)
    if sound is not None:
        # Each part's sound spans exactly its video: [its first timestamp, the next part's).
        tail_start = edge_probes[-1].origin if tail_cut else None
        inner_start = inner[0].origin if middle else tail_start
        edge_sounds = [sound.between(work, segment, segment, probe.origin + offset,
                                     probe.origin + offset + duration if duration is not None
                                     else inner_start)
                       for (segment, offset, duration), probe in zip(edges, edge_probes)]
    paths = _concurrently([
        (_encode_edge, work, segment, probe, offset, duration, layout if direct else None, audio)
        for (segment, offset, duration), probe, audio in zip(edges, edge_probes, edge_sounds)])
    head = paths.pop(0) if head_cut else None
    tail = paths.pop(0) if tail_cut else None
    interior = None
    if middle:
        interior = work.cat([s.path for s in middle])
        if sound is not None:
            inner_end = tail_start if tail_cut else inner[-1].origin + middle[-1].duration
            interior = _with_sound(work, interior, sound, middle[0], middle[-1],
                                   inner[0].origin, inner_end)
        elif not direct:
            interior = work.run("copying the cut's interior",
                                FFMPEG + ["-copyts", "-f", "mpegts", "-i", "pipe:0"] + MAP_AV
                                + ["-c", "copy"] + COPYTS_OUT + ["pipe:1"], interior)
    if head is None and tail is None:
        return interior
    files = ([head] if head else []) + (["-"] if interior else []) + ([tail] if tail else [])
    return work.run("joining the edges", ["cat", "--"] + files, interior)


COPYTS_OUT = ["-f", "mpegts", "-mpegts_copyts", "1", "-muxdelay", "0", "-muxpreload", "0"]


# --- separate sound --------------------------------------------------------------------------

class _Sound:
    """A cut's separate audio: the rendition's segments, and the sound of any part."""

    def __init__(self, audio, pieces):
        self.margin = audio_margin(pieces)
        lo, hi = pieces[0].start - self.margin, pieces[-1].end + self.margin
        self.segments = [s for s in audio if s is not None and s.end > lo and s.start < hi]
        if not self.segments:
            raise CutError(f"the audio rendition has no segments between {pieces[0].start} "
                           f"and {pieces[-1].end}")
        _check_readable(self.segments)

    def between(self, work, first, last, begin, end):
        """A process giving, as MPEG-TS with original timestamps, the sound between the video
        timestamps begin and end of the video segments first..last (None if there is none)."""
        lo, hi = first.start - self.margin, last.end + self.margin
        paths = [s.path for s in self.segments if s.end > lo and s.start < hi]
        if not paths:
            return None
        # Output -ss/-to keep the audio packets that start in [begin, end) (stream copy), and
        # shift to 0, which -output_ts_offset undoes.
        return work.run("trimming the sound",
                        FFMPEG + ["-copyts", "-f", "mpegts", "-i", "pipe:0", "-map", "0:a:0",
                                  "-c", "copy", "-ss", _seconds(begin), "-to", _seconds(end),
                                  "-output_ts_offset", _seconds(begin)]
                        + COPYTS_OUT + ["pipe:1"], work.cat(paths))


def _span(first, last):
    """(first timestamp, end timestamp, frame rate or None) of the video of segments
    first..last."""
    head, tail = _concurrently([(_probe, first.path), (_probe, last.path)])
    return head.origin, tail.origin + last.duration, head.frame_rate


def _with_sound(work, video, sound, first, last, begin, end, progress=None):
    """A process muxing `video` (a process giving the MPEG-TS of segments first..last, video
    only) with its separate sound between timestamps begin and end; original timestamps.
    `progress`: a _Progress fed by the muxing ffmpeg's report."""
    audio = sound.between(work, first, last, begin, end)
    if audio is None:
        return video
    return work.run("muxing the sound",
                    _Progress.add_args(progress, FFMPEG)
                    + ["-copyts", "-f", "mpegts", "-i", "pipe:0", "-f", "mpegts",
                              "-i", work.fd_input(audio), "-map", "0:v:0", "-map", "1:a:0",
                              "-c", "copy"] + COPYTS_OUT + ["pipe:1"],
                    video, inputs=[audio])


def _concurrently(calls):
    """Run (fn, *args) calls in greenlets; their results in order, or the first error
    (raised here, not reported by gevent as a crashed greenlet)."""
    def capture(fn, *args):
        try:
            return True, fn(*args)
        except Exception as e:
            return False, e

    greenlets = [gevent.spawn(capture, *call) for call in calls]
    try:
        gevent.joinall(greenlets)
    finally:
        gevent.killall(greenlets)
    results = []
    for ok, value in (g.value for g in greenlets):
        if not ok:
            raise value
        results.append(value)
    return results


def _encode_edge(work, segment, probe, offset, duration, layout, audio=None):
    """Re-encode the video of part of one segment (audio copied), original timestamps kept,
    muxed with `layout`'s PIDs if given; `audio`, a process giving the part's separate sound,
    replaces the segment's own. Runs to completion into a temporary file now (a segment is
    small), so a failure surfaces before any output is sent."""
    position = _seconds(probe.origin + offset)
    args = ["-copyts", "-f", "mpegts", "-i", "file:" + segment.path]
    if audio is not None:
        args += ["-f", "mpegts", "-i", work.fd_input(audio), "-map", "0:v:0", "-map", "1:a:0"]
    else:
        args += MAP_AV
    # Output -ss shifts timestamps to 0 even with -copyts: -output_ts_offset puts them back.
    args += ["-ss", position, "-output_ts_offset", position]
    if duration is not None:
        args += ["-t", _seconds(duration)]
    args += EDGE_VIDEO_ARGS + _reorder_args(probe.reorder if duration is None else 0)
    if probe.profile:
        # Same H.264 profile as the interior: in an MP4 the first SPS describes them all.
        args += ["-profile:v", probe.profile]
    args += ["-fps_mode", "passthrough", "-c:a", "copy"] + COPYTS_OUT
    if layout is not None:
        args += _layout_args(layout)
    path = work.path("edge.ts")
    proc = work.run(f"re-encoding the edge segment {os.path.basename(segment.path)}",
                    FFMPEG + args + [path], stdout=False,
                    inputs=[audio] if audio is not None else ())
    if proc.wait() != 0:
        proc.raise_error()
    return path


def _reorder_args(depth):
    """x264 B-frame settings giving a decode delay of `depth` frames (at most 2).

    Decode timestamps must keep increasing across a join: a re-encoded head must delay decoding
    at least as much as the original it joins (its last frame decodes before the interior's
    first), while a tail is encoded without B-frames so it never decodes too early."""
    if depth <= 0:
        return ["-bf", "0"]
    if depth == 1:
        return ["-bf", "1", "-x264-params", "b-pyramid=0"]
    return ["-bf", "3", "-x264-params", "b-pyramid=2"]


class _Probe(NamedTuple):
    origin: timedelta  # first video timestamp (audio's if no video): the file name's start
    reorder: int  # the video's frame reordering depth
    profile: Optional[str]  # x264 profile matching the video's, if known
    layout: tuple  # (PMT PID, program number, video PID, audio PID): the MPEG-TS stream ids
    frame_rate: Optional[float]  # the video's frames per second, if known


def _probe(path):
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "program=program_id,pmt_pid:"
         "stream=index,id,codec_type,codec_name,profile,start_time,has_b_frames,avg_frame_rate,"
         "r_frame_rate",
         "-of", "json", "file:" + path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise CutError(f"ffprobe could not read segment {path}: {_last_line(proc.stderr)}")
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        raise CutError(f"ffprobe gave unreadable output for segment {path}") from None
    streams = info.get("streams", [])
    firsts = {}
    for stream in streams:
        firsts.setdefault(stream.get("codec_type"), stream)
    video, audio = firsts.get("video"), firsts.get("audio")
    origin = None
    for stream in (video, audio):
        if stream is not None and origin is None:
            try:
                origin = _parse_seconds(stream.get("start_time", ""))
            except ValueError:
                pass
    if origin is None:
        raise CutError(f"segment {path} has no audio or video stream with a start time")
    reorder, profile = 0, None
    if video is not None:
        reorder = int(video.get("has_b_frames") or 0)
        if video.get("codec_name") == "h264":
            profile = _X264_PROFILES.get(video.get("profile"))
    programs = info.get("programs") or [{}]
    layout = (programs[0].get("pmt_pid"), programs[0].get("program_id"),
              _pid(video), _pid(audio))
    return _Probe(origin, reorder, profile, layout, _frame_rate(video))


def _frame_rate(video):
    """A video stream's frames per second from ffprobe's "30000/1001" (average, else the base
    rate), or None if it gives none."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        try:
            rate = Fraction((video or {}).get(key, ""))
        except (ValueError, ZeroDivisionError):
            continue
        if rate > 0:
            return float(rate)
    return None


def _pid(stream):
    try:
        return int(stream["id"], 16)
    except (TypeError, KeyError, ValueError):
        return None


def _valid_layout(layout):
    """Whether ffmpeg's MPEG-TS muxer can reproduce these ids."""
    pmt, program, video, audio = layout
    pids = [pid for pid in (video, audio) if pid is not None]
    return (isinstance(pmt, int) and 0x10 <= pmt <= 0x1F00 and isinstance(program, int)
            and 1 <= program <= 0xFFFF and pids and all(0x10 <= pid < 0x1FFF for pid in pids)
            and pmt not in pids)


def _layout_args(layout):
    pmt, program, video, audio = layout
    args = ["-mpegts_pmt_start_pid", str(pmt), "-mpegts_service_id", str(program)]
    index = 0
    for pid in (video, audio):  # output streams are mapped video first, then audio
        if pid is not None:
            args += ["-streamid", f"{index}:{pid}"]
            index += 1
    return args


# ffprobe's H.264 profile names -> x264's -profile:v (others: let x264 choose).
_X264_PROFILES = {"Constrained Baseline": "baseline", "Baseline": "baseline", "Main": "main",
                  "High": "high"}


def _parse_seconds(text):
    """ffprobe's decimal seconds ('1.466667', '-0.021333') -> timedelta, without floats."""
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a number of seconds: {text!r}")
    return sign * timedelta(seconds=int(whole), microseconds=int(frac[:6].ljust(6, "0") or 0))


def _last_line(stderr):
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(no error message)"


class _Workspace:
    """Temporary directory and the processes of one cut, in pipeline order. On exit it kills
    anything still running (the consumer stopped early, or an error) and removes its files."""

    def __init__(self):
        self.dir = None
        self.processes = []
        self.greenlets = []  # helpers of the pipeline (progress readers), killed on exit
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        gevent.killall(self.greenlets)
        for proc in reversed(self.processes):
            proc.kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="cut-")
        self.count += 1
        return os.path.join(self.dir, f"{self.count}-{name}")

    def run(self, what, args, source=None, stdout=True, inputs=()):
        """Start a process; source is None, a bytes iterable to feed, or a _Process whose
        stdout becomes this one's stdin. `inputs`: more _Processes whose stdout it reads, named
        in args by fd_input()."""
        proc = _Process(what, args, source, stdout, inputs)
        self.processes.append(proc)
        return proc

    @staticmethod
    def fd_input(proc):
        """The ffmpeg input naming a process's stdout, to pass to run() in `inputs`."""
        return f"pipe:{proc.proc.stdout.fileno()}"

    def drain(self, final):
        """Yield a process's stdout, then check that every process succeeded."""
        while True:
            chunk = final.proc.stdout.read(CHUNK_SIZE)
            if not chunk:
                break
            yield chunk
        self.check()

    def cat(self, paths):
        """A process writing the files' bytes in order (xargs: any number of paths)."""
        return self.run("reading the segments", ["xargs", "-0", "cat", "--"],
                        [b"\0".join(os.fsencode(p) for p in paths)])

    def output(self, what, args, container, source, progress=None):
        """Run the last ffmpeg of the pipeline; yield the cut in `container` format, then check
        that every process of the pipeline succeeded. `progress`: a _Progress, fed by this
        ffmpeg's progress report."""
        args = _Progress.add_args(progress, args)
        if container == "mpegts":
            yield from self.drain(self.run(what, args + MPEGTS_OUT + ["pipe:1"], source))
        else:
            path = self.path("out.mp4")
            self.run(what, args + MP4_OUT + [path], source, stdout=False)
            self.check()
            if progress is not None:
                progress.finish()
            yield from _read_files([path])
        if progress is not None:
            progress.finish()

    def check(self):
        """Wait for every process; raise the first (most upstream) real failure. A process
        killed by SIGPIPE only means the one reading it stopped early (ffmpeg -t has all it
        needs), which is not an error in itself: the reader's own status says if it was."""
        failures = [proc for proc in self.processes if proc.wait() != 0]
        for proc in failures:
            if not proc.broken_pipe():
                proc.raise_error()


class _Progress:
    """Reads the progress report of a pipeline's last ffmpeg (`-progress FILE`, appended to by
    ffmpeg every second) in a greenlet and passes the output's length so far to a callback.

    The report's `out_time` is the output's length, except for an ffmpeg that keeps its input's
    timestamps (-copyts): it then counts from the timestamp reached at its first report, which
    a fast remux reaches long after it started (a 300 s remux ended at "263 s"). For such an
    ffmpeg (`copyts`), the length is its count of video frames written at the video's
    `frame_rate` (without a frame rate, only the end is reported)."""

    INTERVAL = 1.0
    _OUT_TIME = re.compile(rb"out_time_us=(\d+)")
    _FRAMES = re.compile(rb"frame=(\d+)")

    @classmethod
    def start(cls, work, callback, total, copyts=False, frame_rate=None):
        """A _Progress for an output `total` (timedelta) long, None without a callback."""
        return None if callback is None else cls(work, callback, total.total_seconds(),
                                                  copyts, frame_rate)

    @staticmethod
    def add_args(progress, args):
        """An ffmpeg command line `args` with the options making it report to `progress` (if
        not None) added."""
        return args if progress is None else args[:1] + progress.ffmpeg_args() + args[1:]

    def __init__(self, work, callback, total, copyts=False, frame_rate=None):
        self.callback, self.total = callback, total
        self.copyts, self.frame_rate = copyts, frame_rate
        self.path = work.path("progress")
        self.done = False
        self.greenlet = gevent.spawn(self._poll)
        work.greenlets.append(self.greenlet)

    def ffmpeg_args(self):
        return ["-progress", self.path, "-stats_period", str(self.INTERVAL)]

    def _poll(self):
        last = None
        while True:
            gevent.sleep(self.INTERVAL)
            seconds = self._read()
            if seconds is not None and seconds != last:
                last = seconds
                self.callback(min(seconds, self.total), self.total)

    def _read(self):
        """Seconds of output in ffmpeg's latest report, or None if there is none yet."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 1024))  # the report is appended: read its tail
                tail = f.read()
        except OSError:
            return None
        if not self.copyts:
            found = self._OUT_TIME.findall(tail)
            return int(found[-1]) / 1e6 if found else None
        found = self._FRAMES.findall(tail) if self.frame_rate else None
        return int(found[-1]) / self.frame_rate if found else None

    def finish(self):
        """The cut is complete: stop reading reports, say so once."""
        self.greenlet.kill()
        if not self.done:
            self.done = True
            self.callback(self.total, self.total)


class _Process:
    """One subprocess; a greenlet keeps the tail of its stderr, another feeds its stdin if
    given bytes. A _Process as source is connected by an OS pipe."""

    def __init__(self, what, args, source, stdout, inputs=()):
        self.what = what
        self.name = os.path.basename(args[0])
        self.stderr = b""
        self.feed_error = None
        self.returncode = None
        log.debug("running: %s", " ".join(args))
        if source is None:
            stdin = subprocess.DEVNULL
        elif isinstance(source, _Process):
            stdin = source.proc.stdout
        else:
            stdin = subprocess.PIPE
        try:
            # Its own process group, so a kill reaches xargs' cat too.
            self.proc = subprocess.Popen(
                args, stdin=stdin, stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True,
                pass_fds=[i.proc.stdout.fileno() for i in inputs])
        except OSError as e:
            raise CutError(f"{what}: cannot run {self.name}: {e}") from None
        for other in ([source] if isinstance(source, _Process) else []) + list(inputs):
            other.proc.stdout.close()  # the pipe is the child's now: EOF and SIGPIPE work
        self.greenlets = [gevent.spawn(self._keep_stderr)]
        if stdin is subprocess.PIPE:
            self.greenlets.append(gevent.spawn(self._feed, source))

    def _keep_stderr(self):
        while True:
            chunk = self.proc.stderr.read(4096)
            if not chunk:
                break
            self.stderr = (self.stderr + chunk)[-8192:]

    def _feed(self, chunks):
        stdin = self.proc.stdin
        try:
            for chunk in chunks:
                stdin.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the process stopped reading: its exit status says why
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def wait(self):
        self.returncode = self.proc.wait()
        gevent.joinall(self.greenlets)
        return self.returncode

    def broken_pipe(self):
        """Killed by SIGPIPE (for xargs: its cat was; ffmpeg ignores the signal and fails on
        the write instead): whoever read from it stopped early."""
        if self.returncode == -signal.SIGPIPE:
            return True
        if self.name == "ffmpeg":
            # e.g. the muxer of a full cut's separate sound, read by an ffmpeg -t that has
            # all it needs before the last segment ends
            return b"Broken pipe" in self.stderr
        return self.name == "xargs" and self.returncode == 125 and b"signal 13" in self.stderr

    def raise_error(self):
        raise CutError(f"{self.what}: {self.name} exited with status {self.returncode}: "
                       f"{_last_line(self.stderr)}")

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            self.proc.wait()
        gevent.killall(self.greenlets)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
