"""Cutting a time range out of the archive: generators of the output video's bytes.

API (used by the restreamer's /cut endpoint and by the cutter; keep it stable):

- `rough_cut(segments, start, end)`: the chosen segments' bytes, concatenated as they are
  (MPEG-TS). Instant; may start and end up to a segment away from the range.
- `fast_cut(segments, start, end, container='mpegts')`: frame-accurate cut. The interior is
  stream-copied; only the first and last segments are re-encoded (video; audio is copied, so
  audio is accurate to one audio frame). Timestamps stay continuous across the joins.
- `full_cut(segments, start, end, encode_args, container='mpegts')`: one ffmpeg re-encode of
  the whole range with `encode_args` (a list of ffmpeg output options, e.g.
  `['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-c:a', 'aac']`;
  `DEFAULT_ENCODE_ARGS` if you have no preference).

`segments` is a `common.segments.get_best_segments()` result for (start, end): SegmentInfo
objects with None at discontinuities. Leading and trailing Nones are ignored; with holes inside,
the output joins the pieces that exist (the gaps are left out of the timeline).
`container` is 'mpegts' (streams as ffmpeg produces it) or 'mp4' (needs a seekable file, so
ffmpeg writes a temporary file that is streamed once complete and then removed).

Each is a generator of bytes chunks. ffmpeg starts only when the generator is first advanced;
closing the generator early (a client that went away) kills every ffmpeg it started at once and
removes its temporary files. A failure raises `CutError` whose message says what failed and
ffmpeg's own last error line. Work runs in ffmpeg subprocesses driven by gevent, so other
greenlets keep running while a cut is produced.
"""

import json
import logging
import os
import shutil
import tempfile
from datetime import timedelta

import gevent
from gevent import subprocess

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


class CutError(Exception):
    """A cut could not be made: bad arguments, a missing segment, or ffmpeg failed (why)."""


def rough_cut(segments, start, end):
    """The segments' bytes concatenated, unchanged (MPEG-TS)."""
    pieces = _pieces(segments, start, end)
    yield from _read_files([s.path for s in pieces])


def fast_cut(segments, start, end, container="mpegts"):
    """Frame-accurate cut re-encoding only the first and last segments (see module docs)."""
    _check_container(container)
    pieces = _pieces(segments, start, end)
    with _Workspace() as work:
        parts = _fast_cut_parts(work, pieces, start, end)
        final = work.run("joining the cut's parts",
                         FFMPEG + ["-f", "mpegts", "-dts_delta_threshold", HOLE_THRESHOLD_SECONDS,
                                   "-i", "pipe:0"] + MAP_AV + ["-c", "copy"],
                         container, _chain(parts))
        yield from final


def full_cut(segments, start, end, encode_args, container="mpegts"):
    """One ffmpeg re-encode of the range with encode_args (see module docs)."""
    _check_container(container)
    if isinstance(encode_args, str):
        raise CutError("encode_args must be a list of ffmpeg arguments, not a string")
    pieces = _pieces(segments, start, end)
    # Timestamps in ffmpeg's output count from the first segment's start, holes closed up.
    offset = max(start - pieces[0].start, timedelta(0))
    duration = _covered(pieces, start, end)
    with _Workspace() as work:
        output = work.run("re-encoding the cut",
                          FFMPEG + ["-f", "mpegts", "-dts_delta_threshold", HOLE_THRESHOLD_SECONDS,
                                    "-i", "pipe:0"] + MAP_AV
                          + ["-ss", _seconds(offset), "-t", _seconds(duration)]
                          + list(encode_args),
                          container, _read_files([s.path for s in pieces]))
        yield from output


# --- helpers -----------------------------------------------------------------------------------

def _check_container(container):
    if container not in CONTAINERS:
        raise CutError(f"unknown container {container!r} (want one of {', '.join(CONTAINERS)})")


def _pieces(segments, start, end):
    """The segments that exist, in order; CutError if there is nothing to cut."""
    if end <= start:
        raise CutError(f"end {end} is not after start {start}")
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


def _chain(iterables):
    for iterable in iterables:
        yield from iterable


def _fast_cut_parts(work, pieces, start, end):
    """Iterables of MPEG-TS bytes that, concatenated, make the cut with original timestamps.

    The edges are re-encoded with their original timestamps kept (-copyts); the interior is
    remuxed by an ffmpeg with the same muxer settings, so all parts share stream ids and the
    joining ffmpeg sees one continuous stream."""
    first, last = pieces[0], pieces[-1]
    head_cut = start > first.start
    tail_cut = end < last.end
    if len(pieces) == 1:
        if not (head_cut or tail_cut):
            return [_remux(work, [first.path])]
        offset = max(start - first.start, timedelta(0))
        return [_encode_edge(work, first, offset, min(end, first.end) - max(start, first.start))]
    parts = []
    middle = pieces[:]
    if head_cut:
        parts.append(_encode_edge(work, first, start - first.start, None))
        middle.pop(0)
    tail = None
    if tail_cut:
        tail = _encode_edge(work, last, timedelta(0), end - last.start)
        middle.pop()
    if middle:
        parts.append(_remux(work, [s.path for s in middle]))
    if tail is not None:
        parts.append(tail)
    return parts


COPYTS_OUT = ["-f", "mpegts", "-mpegts_copyts", "1", "-muxdelay", "0", "-muxpreload", "0"]


def _remux(work, paths):
    """Stream-copy segments through ffmpeg, timestamps untouched."""
    return work.run("copying the cut's interior",
                    FFMPEG + ["-copyts", "-f", "mpegts", "-i", "pipe:0"] + MAP_AV
                    + ["-c", "copy"], COPYTS_OUT, _read_files(paths))


def _encode_edge(work, segment, offset, duration):
    """Re-encode the video of part of one segment (audio copied), original timestamps kept.
    Runs to completion into a temporary file now (a segment is small), so a failure surfaces
    before any output is sent."""
    origin, reorder = _probe_edge(segment.path)
    position = _seconds(origin + offset)
    args = ["-copyts", "-f", "mpegts", "-i", "file:" + segment.path] + MAP_AV
    # Output -ss shifts timestamps to 0 even with -copyts: -output_ts_offset puts them back.
    args += ["-ss", position, "-output_ts_offset", position]
    if duration is not None:
        args += ["-t", _seconds(duration)]
    args += EDGE_VIDEO_ARGS + _reorder_args(reorder if duration is None else 0)
    args += ["-fps_mode", "passthrough", "-c:a", "copy"]
    path = work.path("edge")
    work.run_to_file(f"re-encoding the edge segment {os.path.basename(segment.path)}",
                     FFMPEG + args + COPYTS_OUT + [path])
    return _read_files([path])


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


def _probe_edge(path):
    """-> (first video timestamp, or the audio's if there is no video, as timedelta: the point
    the file name's start time corresponds to; the video's frame reordering depth)."""
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,start_time,has_b_frames",
         "-of", "json", "file:" + path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise CutError(f"ffprobe could not read segment {path}: {_last_line(proc.stderr)}")
    try:
        streams = json.loads(proc.stdout).get("streams", [])
    except ValueError:
        raise CutError(f"ffprobe gave unreadable output for segment {path}") from None
    origin = None
    reorder = 0
    for kind in ("video", "audio"):
        for stream in streams:
            if stream.get("codec_type") != kind:
                continue
            try:
                start = _parse_seconds(stream.get("start_time", ""))
            except ValueError:
                continue
            if origin is None:
                origin = start
                if kind == "video":
                    reorder = int(stream.get("has_b_frames") or 0)
            break
    if origin is None:
        raise CutError(f"segment {path} has no audio or video stream with a start time")
    return origin, reorder


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
    """Temporary directory and the ffmpeg processes of one cut; cleans up on exit, killing
    anything still running (consumer stopped early, or an error)."""

    def __init__(self):
        self.dir = None
        self.processes = []
        self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in self.processes:
            proc.kill()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="cut-")
        self.count += 1
        return os.path.join(self.dir, f"{self.count}-{name}")

    def run_to_file(self, what, args):
        proc = _Process(what, args, None)
        self.processes.append(proc)
        proc.wait_success()

    def run(self, what, args, container, input_chunks):
        """Run ffmpeg with input_chunks on stdin; yield its output in `container` format
        (a list of output args is used as-is, streamed to stdout)."""
        if isinstance(container, list):
            return self._stream(what, args + container + ["pipe:1"], input_chunks)
        if container == "mpegts":
            return self._stream(what, args + MPEGTS_OUT + ["pipe:1"], input_chunks)
        return self._spool(what, args, input_chunks)

    def _stream(self, what, args, input_chunks):
        proc = _Process(what, args, input_chunks, stdout=True)
        self.processes.append(proc)
        return proc.output()

    def _spool(self, what, args, input_chunks):
        path = self.path("out.mp4")
        proc = _Process(what, args + MP4_OUT + [path], input_chunks)
        self.processes.append(proc)
        proc.wait_success()
        return _read_files([path])


class _Process:
    """One ffmpeg: a greenlet feeds stdin from an iterable of chunks, another keeps stderr."""

    def __init__(self, what, args, input_chunks, stdout=False):
        self.what = what
        self.stderr = b""
        self.feed_error = None
        log.debug("running: %s", " ".join(args))
        try:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.PIPE if input_chunks is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout else subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError as e:
            raise CutError(f"{what}: cannot run ffmpeg: {e}") from None
        self.greenlets = [gevent.spawn(self._keep_stderr)]
        if input_chunks is not None:
            self.greenlets.append(gevent.spawn(self._feed, input_chunks))

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
            pass  # ffmpeg stopped reading: its exit status says why
        except Exception as e:  # e.g. a CutError from an upstream process or a missing file
            self.feed_error = e
            self.proc.kill()
        finally:
            if isinstance(chunks, _GeneratorTypes):
                chunks.close()
            try:
                stdin.close()
            except OSError:
                pass

    def output(self):
        """Yield stdout chunks; raise CutError if ffmpeg (or what fed it) failed."""
        while True:
            chunk = self.proc.stdout.read(CHUNK_SIZE)
            if not chunk:
                break
            yield chunk
        self.wait_success()

    def wait_success(self):
        returncode = self.proc.wait()
        gevent.joinall(self.greenlets)
        if self.feed_error is not None:
            if isinstance(self.feed_error, CutError):
                raise self.feed_error
            raise CutError(f"{self.what}: {self.feed_error}") from self.feed_error
        if returncode != 0:
            raise CutError(f"{self.what}: ffmpeg exited with status {returncode}: "
                           f"{_last_line(self.stderr)}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        gevent.killall(self.greenlets)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


_GeneratorTypes = type(x for x in ())
