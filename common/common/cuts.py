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

Each takes an optional `progress(done_seconds, total_seconds)` callback: called as the output
advances (at most about once a second; ffmpeg's `-progress` report for fast and full cuts,
each segment read for rough cuts), with seconds of the output made so far and its expected
length, and once more with done == total when the cut is complete.

Each is a generator of bytes chunks. ffmpeg starts only when the generator is first advanced;
closing the generator early (a client that went away) kills every ffmpeg it started at once and
removes its temporary files. A failure raises `CutError` whose message says what failed and
ffmpeg's own last error line. Work runs in ffmpeg subprocesses driven by gevent, so other
greenlets keep running while a cut is produced.
"""

import json
import logging
import os
import re
import shutil
import signal
import tempfile
from datetime import timedelta
from typing import NamedTuple, Optional

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


def rough_cut(segments, start, end, progress=None):
    """The segments' bytes concatenated, unchanged (MPEG-TS)."""
    pieces = _pieces(segments, start, end)
    total, done = _covered(pieces, start, end).total_seconds(), 0.0
    for piece in pieces:
        yield from _read_files([piece.path])
        if progress is not None:
            done += _covered([piece], start, end).total_seconds()
            progress(min(done, total), total)


def fast_cut(segments, start, end, container="mpegts", progress=None):
    """Frame-accurate cut re-encoding only the first and last segments (see module docs)."""
    _check_container(container)
    pieces = _pieces(segments, start, end)
    _check_readable(pieces)
    with _Workspace() as work:
        parts = _fast_cut_input(work, pieces, start, end)
        yield from work.output("joining the cut's parts",
                               FFMPEG + ["-f", "mpegts", "-dts_delta_threshold",
                                         HOLE_THRESHOLD_SECONDS, "-i", "pipe:0"]
                               + MAP_AV + ["-c", "copy"], container, parts,
                               _Progress.start(work, progress, _covered(pieces, start, end)))


def full_cut(segments, start, end, encode_args, container="mpegts", progress=None):
    """One ffmpeg re-encode of the range with encode_args (see module docs)."""
    _check_container(container)
    if isinstance(encode_args, str):
        raise CutError("encode_args must be a list of ffmpeg arguments, not a string")
    pieces = _pieces(segments, start, end)
    _check_readable(pieces)
    # Timestamps in ffmpeg's output count from the first segment's start, holes closed up.
    offset = max(start - pieces[0].start, timedelta(0))
    duration = _covered(pieces, start, end)
    with _Workspace() as work:
        yield from work.output("re-encoding the cut",
                               FFMPEG + ["-f", "mpegts", "-dts_delta_threshold",
                                         HOLE_THRESHOLD_SECONDS, "-i", "pipe:0"] + MAP_AV
                               + ["-ss", _seconds(offset), "-t", _seconds(duration)]
                               + list(encode_args),
                               container, work.cat([s.path for s in pieces]),
                               _Progress.start(work, progress, duration))


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


def _check_readable(pieces):
    """Fail before starting anything if a segment has gone (e.g. deleted by a cleanup)."""
    for segment in pieces:
        if not os.access(segment.path, os.R_OK):
            raise CutError(f"cannot read segment {segment.path}")


def _fast_cut_input(work, pieces, start, end):
    """A process whose stdout is the cut as MPEG-TS with original timestamps.

    The edges are re-encoded with their original timestamps kept (-copyts) and muxed with the
    interior's stream ids (PIDs), so the edges and the interior's own bytes concatenate into one
    continuous stream for the joining ffmpeg. Should the segments' layouts differ (or be one
    ffmpeg cannot reproduce), the interior is remuxed with ffmpeg's default layout instead, like
    the edges. Bytes flow between processes through OS pipes, never through Python."""
    first, last = pieces[0], pieces[-1]
    head_cut = start > first.start
    tail_cut = end < last.end
    if len(pieces) == 1 and (head_cut or tail_cut):
        offset = max(start - first.start, timedelta(0))
        edge = _encode_edge(work, first, _probe(first.path), offset,
                            min(end, first.end) - max(start, first.start), None)
        return work.cat([edge])
    middle = pieces[:]
    edges = []
    if head_cut:
        edges.append((middle.pop(0), start - first.start, None))
    if tail_cut:
        edges.append((middle.pop(), timedelta(0), end - last.start))
    # The edges are independent: probe and encode them concurrently.
    probed = [s.path for s, _, _ in edges] + ([middle[0].path] if middle and edges else [])
    probes = _concurrently([(_probe, path) for path in probed])
    layout = probes.pop().layout if middle and edges else None
    direct = layout is not None and _valid_layout(layout) and all(
        probe.layout == layout for probe in probes)
    paths = _concurrently([
        (_encode_edge, work, segment, probe, offset, duration, layout if direct else None)
        for (segment, offset, duration), probe in zip(edges, probes)])
    head = paths.pop(0) if head_cut else None
    tail = paths.pop(0) if tail_cut else None
    interior = None
    if middle:
        interior = work.cat([s.path for s in middle])
        if not direct:
            interior = work.run("copying the cut's interior",
                                FFMPEG + ["-copyts", "-f", "mpegts", "-i", "pipe:0"] + MAP_AV
                                + ["-c", "copy"] + COPYTS_OUT + ["pipe:1"], interior)
    if head is None and tail is None:
        return interior
    files = ([head] if head else []) + (["-"] if interior else []) + ([tail] if tail else [])
    return work.run("joining the edges", ["cat", "--"] + files, interior)


COPYTS_OUT = ["-f", "mpegts", "-mpegts_copyts", "1", "-muxdelay", "0", "-muxpreload", "0"]


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


def _encode_edge(work, segment, probe, offset, duration, layout):
    """Re-encode the video of part of one segment (audio copied), original timestamps kept,
    muxed with `layout`'s PIDs if given. Runs to completion into a temporary file now (a
    segment is small), so a failure surfaces before any output is sent."""
    position = _seconds(probe.origin + offset)
    args = ["-copyts", "-f", "mpegts", "-i", "file:" + segment.path] + MAP_AV
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
                    FFMPEG + args + [path], stdout=False)
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


def _probe(path):
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "program=program_id,pmt_pid:"
         "stream=index,id,codec_type,codec_name,profile,start_time,has_b_frames",
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
    return _Probe(origin, reorder, profile, layout)


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

    def run(self, what, args, source=None, stdout=True):
        """Start a process; source is None, a bytes iterable to feed, or a _Process whose
        stdout becomes this one's stdin."""
        proc = _Process(what, args, source, stdout)
        self.processes.append(proc)
        return proc

    def cat(self, paths):
        """A process writing the files' bytes in order (xargs: any number of paths)."""
        return self.run("reading the segments", ["xargs", "-0", "cat", "--"],
                        [b"\0".join(os.fsencode(p) for p in paths)])

    def output(self, what, args, container, source, progress=None):
        """Run the last ffmpeg of the pipeline; yield the cut in `container` format, then check
        that every process of the pipeline succeeded. `progress`: a _Progress, fed by this
        ffmpeg's progress report."""
        if progress is not None:
            args = args[:1] + progress.ffmpeg_args() + args[1:]
        if container == "mpegts":
            final = self.run(what, args + MPEGTS_OUT + ["pipe:1"], source)
            while True:
                chunk = final.proc.stdout.read(CHUNK_SIZE)
                if not chunk:
                    break
                yield chunk
            self.check()
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
    ffmpeg every second) in a greenlet and passes the output's length so far to a callback."""

    INTERVAL = 1.0
    _OUT_TIME = re.compile(rb"out_time_us=(\d+)")

    @classmethod
    def start(cls, work, callback, total):
        return None if callback is None else cls(work, callback, total.total_seconds())

    def __init__(self, work, callback, total):
        self.callback, self.total = callback, total
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
                found = self._OUT_TIME.findall(f.read())
        except OSError:
            return None
        return int(found[-1]) / 1e6 if found else None

    def finish(self):
        """The cut is complete: stop reading reports, say so once."""
        self.greenlet.kill()
        if not self.done:
            self.done = True
            self.callback(self.total, self.total)


class _Process:
    """One subprocess; a greenlet keeps the tail of its stderr, another feeds its stdin if
    given bytes. A _Process as source is connected by an OS pipe."""

    def __init__(self, what, args, source, stdout):
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
                stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise CutError(f"{what}: cannot run {self.name}: {e}") from None
        if isinstance(source, _Process):
            source.proc.stdout.close()  # the pipe is the child's now: EOF and SIGPIPE work
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
        """Killed by SIGPIPE (for xargs: its cat was): whoever read from it stopped early."""
        if self.returncode == -signal.SIGPIPE:
            return True
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
