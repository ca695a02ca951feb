"""A real live HLS origin for tests: ffmpeg's HLS muxer encoding a test source in real time,
served by a local HTTP server we control, with fault injection.

    origin = HLSOrigin(tmp_dir).start()
    channel = origin.channel()          # an independent view with its own faults and request log
    channel.master_url                  # http://127.0.0.1:PORT/c/1/master.m3u8
    seq = origin.next_seq()             # a segment not in the playlists yet
    channel.fault(seq, "cut")           # cut the connection half way through that segment's body
    ...
    origin.stop()

Faults (each applies to the first N requests of a segment, in every variant unless one is named):
  "cut"    Content-Length of the whole body, half of it sent, then the connection is closed.
  "slow"   the body trickles out over `slow_seconds`, then completes.
  "empty"  200 with an empty body.
  "404"    the segment is gone.
Channel-wide: forbid_media_playlists(segments=False) (403 on the media playlist URLs handed out
so far, and on their segments' URLs with segments=True; a fresh master playlist hands out new
ones), master_missing (404 on the master), mark_ads(seqs,
how) (EXT-X-DATERANGE twitch-stitched-ad, or an "Amazon" EXTINF title), end() (freeze the
playlists and append EXT-X-ENDLIST) and restart().

Variant URLs: /c/CHANNEL/gGENERATION/vINDEX/index.m3u8 and .../segN.ts, N being ffmpeg's
sequence number. `origin.history[variant][seq]` records each segment's (PDT, duration, path),
and `origin.details[variant][seq]` when it appeared and its byte range.

Kinds of stream real servers publish (options of HLSOrigin, each its own ffmpeg):
  program_date_time=False   no EXT-X-PROGRAM-DATE-TIME (history's PDT is None)
  single_file=True          every segment a byte range of one growing file (`seg.ts`), served
                            with HTTP Range (channel.ignore_ranges: whole file, 200)
  encrypted=True            AES-128 (`-hls_key_info_file`), key at /c/CHANNEL/key/k.bin
                            (channel.key_missing: the playlists name a key URL that 404s)
  separate_audio=True       video variants without sound, AUDIO="aud" pointing at an
                            EXT-X-MEDIA audio rendition (the last variant index); the master
                            also lists a subtitles rendition and, as ffmpeg does, the audio
                            playlist as an audio-only variant
"""

import itertools
import logging
import os
import re
import subprocess
import time
from datetime import timedelta
from typing import NamedTuple, Optional

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer

from common.dateutil import parse as parse_time, utcnow
from demo_origin.origin import ffmpeg_hls_command as demo_ffmpeg_command
from demo_origin.processes import stop_ffmpeg, with_parent_death_signal

log = logging.getLogger(__name__)

SEGMENT_RE = re.compile(r"^seg(\d+)\.(?:ts|m4s)$")
SINGLE_FILE = "seg.ts"
KEY = bytes(range(16))
KEY_PATH = "key/k.bin"   # relative to /c/CHANNEL/


def ffmpeg_hls_command(out_dir, segment_duration=1, sizes=((320, 180), (160, 90)), fps=15,
        list_size=6, fmp4=False, program_date_time=True, single_file=False, key_info=None,
        separate_audio=False):
    """The demo origin's ffmpeg command, keeping every segment (tests re-read them), changed
    for the kinds of stream above."""
    cmd = demo_ffmpeg_command(out_dir, segment_duration, sizes, fps, list_size,
        delete_segments=False, fmp4=fmp4)
    flags = cmd[cmd.index("-hls_flags") + 1].split("+")
    if not program_date_time:
        flags.remove("program_date_time")
    if single_file:
        flags.remove("temp_file")   # ffmpeg 5 names the ranges' file .tmp with both
        flags.append("single_file")
        name = cmd.index("-hls_segment_filename") + 1
        cmd[name] = os.path.join(os.path.dirname(cmd[name]), SINGLE_FILE)
    cmd[cmd.index("-hls_flags") + 1] = "+".join(flags)
    if key_info:
        cmd[-1:-1] = ["-hls_key_info_file", key_info]
    if separate_audio:
        # Video streams without sound, then the one audio stream, grouped as ffmpeg does.
        maps = [i for i, arg in enumerate(cmd) if arg == "-map"]
        first = maps[0]
        for i in reversed(maps):
            del cmd[i:i + 2]
        cmd[first:first] = [a for i in range(len(sizes)) for a in ("-map", f"[v{i}]")] + [
            "-map", "1:a"]
        stream_map = cmd.index("-var_stream_map") + 1
        cmd[stream_map] = " ".join([f"v:{i},agroup:aud" for i in range(len(sizes))]
                                   + ["a:0,agroup:aud,language:en"])
    return cmd


class Details(NamedTuple):
    appeared: object                  # when the watcher first saw it listed (naive UTC)
    byterange: Optional[tuple]        # (offset, length) in SINGLE_FILE, or None


class Segment:
    """One segment of an ffmpeg media playlist, as lines we can rewrite."""

    def __init__(self, lines, uri, seq=None, next_offset=0):
        self.lines = lines   # tags before the URI
        self.uri = uri
        m = SEGMENT_RE.match(uri)
        self.seq = int(m.group(1)) if m else seq
        self.pdt = None
        self.duration = None
        self.byterange = None
        for line in lines:
            if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                self.pdt = parse_time(line.split(":", 1)[1])
            elif line.startswith("#EXTINF:"):
                self.duration = timedelta(seconds=float(line[len("#EXTINF:"):].split(",")[0]))
            elif line.startswith("#EXT-X-BYTERANGE:"):
                length, _, offset = line.split(":", 1)[1].partition("@")
                self.byterange = (int(offset) if offset else next_offset, int(length))


def parse_ffmpeg_playlist(text):
    """(header lines, [Segment], ended)."""
    header, segments, pending, ended = [], [], [], False
    sequence, next_offset = 0, 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        if line == "#EXT-X-ENDLIST":
            ended = True
        elif line.startswith("#"):
            if segments or pending or line.startswith(("#EXTINF", "#EXT-X-PROGRAM-DATE-TIME",
                    "#EXT-X-DISCONTINUITY", "#EXT-X-BYTERANGE")):
                pending.append(line)
            else:
                header.append(line)
        else:
            segment = Segment(pending, line, sequence + len(segments), next_offset)
            if segment.byterange:
                next_offset = sum(segment.byterange)
            segments.append(segment)
            pending = []
    return header, segments, ended


class Channel:
    """An independent view of the origin's stream: its own URLs, faults and request log."""

    def __init__(self, origin, name):
        self.origin = origin
        self.name = name
        self.generation = 1
        self.forbidden_below = 0        # media playlists of generations below this: 403
        self.segments_forbidden = False  # ... and their segment URLs too
        self.master_missing = False
        self.faults = {}                # (variant or None, seq) -> [kind, remaining uses]
        self.ads = {}                   # seq -> "daterange" | "title"
        self.frozen = None              # variant -> playlist text while ended
        self.twitch_style = False       # add Twitch-isms (PREFETCH lines) to media playlists
        self.requests = []              # (kind, variant, seq, generation, status, outcome)
        self.slow_seconds = 3
        self.key_missing = False        # name a key URL that 404s
        self.key_method = None          # claim another METHOD (e.g. SAMPLE-AES)
        self.ignore_ranges = False      # answer Range requests with the whole file (200)

    @property
    def prefix(self):
        return f"/c/{self.name}"

    @property
    def master_url(self):
        return self.origin.base_url + self.prefix + "/master.m3u8"

    def media_url(self, variant, generation=None):
        return (f"{self.origin.base_url}{self.prefix}/g{generation or self.generation}"
                f"/v{variant}/index.m3u8")

    def fault(self, seq, kind, variant=None, times=1):
        self.faults[(variant, seq)] = [kind, times]

    def forbid_media_playlists(self, segments=False):
        """403 on every media playlist URL handed out so far (and on their segment URLs too,
        if `segments`); new masters give new URLs."""
        self.forbidden_below = self.generation + 1
        self.segments_forbidden = segments
        self.generation += 1

    def mark_ads(self, seqs, how="daterange"):
        for seq in seqs:
            self.ads[seq] = how

    def end(self):
        """Freeze every variant's playlist as it is now and append EXT-X-ENDLIST."""
        self.frozen = {v: self.origin.read_playlist(v) for v in range(self.origin.variant_count)}

    def restart(self):
        self.frozen = None

    def frozen_seqs(self, variant):
        """Sequence numbers in the frozen (ended) playlist of a variant."""
        return [s.seq for s in parse_ffmpeg_playlist(self.frozen[variant])[1]]

    def segment_requests(self, variant=None):
        """{(variant, seq): count} of segment requests so far."""
        counts = {}
        for kind, v, seq, _gen, _status, _outcome in self.requests:
            if kind == "segment" and (variant is None or v == variant):
                counts[(v, seq)] = counts.get((v, seq), 0) + 1
        return counts

    def take_fault(self, variant, seq):
        for key in ((variant, seq), (None, seq)):
            fault = self.faults.get(key)
            if fault and fault[1] > 0:
                fault[1] -= 1
                return fault[0]
        return None

    def media_playlist(self, variant):
        text = self.frozen[variant] if self.frozen else self.origin.read_playlist(variant)
        header, segments, _ = parse_ffmpeg_playlist(text)
        out = list(header)
        for segment in segments:
            lines = list(segment.lines)
            how = self.ads.get(segment.seq)
            if how == "daterange" and segment.pdt is not None:
                out.append(
                    f'#EXT-X-DATERANGE:ID="stitched-ad-{self.name}-{segment.seq}",'
                    f'CLASS="twitch-stitched-ad",START-DATE="{segment.pdt.isoformat()}Z",'
                    f'DURATION={segment.duration.total_seconds():.3f},'
                    f'X-TV-TWITCH-AD-ROLL-TYPE="MIDROLL"')
            elif how == "title":
                lines = [f"#EXTINF:{segment.duration.total_seconds():.6f},Amazon|{segment.seq}"
                         if line.startswith("#EXTINF:") else line for line in lines]
            out.extend(lines)
            out.append(segment.uri)
        if self.twitch_style and segments and segments[-1].seq is not None:
            out.append(f"#EXT-X-TWITCH-PREFETCH:seg{segments[-1].seq + 1}.ts")
        if self.frozen:
            out.append("#EXT-X-ENDLIST")
        text = "\n".join(out) + "\n"
        if self.key_missing:
            text = text.replace(f'URI="../../{KEY_PATH}"', 'URI="../../key/missing.bin"')
        if self.key_method:
            text = text.replace("METHOD=AES-128", f"METHOD={self.key_method}")
        return text

    def master_playlist(self):
        lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
        groups = ""
        if self.origin.separate_audio:
            audio = f"g{self.generation}/v{len(self.origin.sizes)}/index.m3u8"
            lines += [f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",LANGUAGE="en",'
                      f'DEFAULT=YES,AUTOSELECT=YES,URI="{audio}"',
                      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",'
                      'LANGUAGE="en",URI="subs/en.m3u8"']
            groups = ',AUDIO="aud",SUBTITLES="subs"'
        for v, (w, h) in enumerate(self.origin.sizes):
            bandwidth = 60_000 + w * h * 5
            lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={w}x{h},'
                         f'CODECS="avc1.42c014,mp4a.40.2"{groups}')
            lines.append(f"g{self.generation}/v{v}/index.m3u8")
        if self.origin.separate_audio:
            lines += [f'#EXT-X-STREAM-INF:BANDWIDTH=60000,CODECS="mp4a.40.2"{groups}', audio]
        return "\n".join(lines) + "\n"


class HLSOrigin:
    def __init__(self, directory, segment_duration=1, sizes=((320, 180), (160, 90)), fps=15,
            list_size=6, fmp4=False, program_date_time=True, single_file=False,
            encrypted=False, separate_audio=False):
        self.directory = str(directory)
        self.segment_duration = segment_duration
        self.sizes = sizes
        self.fps = fps
        self.list_size = list_size
        self.fmp4 = fmp4
        self.program_date_time = program_date_time
        self.single_file = single_file
        self.encrypted = encrypted
        self.separate_audio = separate_audio
        self.variant_count = len(sizes) + (1 if separate_audio else 0)
        self.channels = {}
        self.routes = []          # (path prefix, wsgi-like handler(environ, path) -> response)
        self.history = {v: {} for v in range(self.variant_count)}
        self.details = {v: {} for v in range(self.variant_count)}
        self._range_numbers = {}  # variant -> {byte offset: number}
        self._names = itertools.count(1)
        self.process = None
        self.server = None
        self.watcher = None

    # --- lifecycle ---

    def start(self, timeout=20):
        os.makedirs(self.directory, exist_ok=True)
        key_info = None
        if self.encrypted:
            key_info = os.path.join(self.directory, "keyinfo")
            with open(os.path.join(self.directory, "k.bin"), "wb") as f:
                f.write(KEY)
            with open(key_info, "w") as f:   # the key's URI as the playlists give it
                f.write(f"../../{KEY_PATH}\n{os.path.join(self.directory, 'k.bin')}\n")
        cmd = ffmpeg_hls_command(self.directory, self.segment_duration, self.sizes, self.fps,
            self.list_size, fmp4=self.fmp4, program_date_time=self.program_date_time,
            single_file=self.single_file, key_info=key_info,
            separate_audio=self.separate_audio)
        self.process = subprocess.Popen(with_parent_death_signal(cmd), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None, handler_class=_Handler)
        self.server.start()
        self.watcher = gevent.spawn(self._watch)
        deadline = time.monotonic() + timeout
        while not all(len(h) >= 2 for h in self.history.values()):
            if self.process.poll() is not None:
                raise RuntimeError("ffmpeg exited: " + self.process.stderr.read().decode()[-500:])
            if time.monotonic() > deadline:
                raise RuntimeError("ffmpeg produced no HLS segments in time")
            gevent.sleep(0.1)
        return self

    def stop(self):
        if self.watcher is not None:
            self.watcher.kill()
        if self.server is not None:
            self.server.stop(timeout=1)
        stop_ffmpeg(self.process)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_port}"

    def channel(self):
        channel = Channel(self, str(next(self._names)))
        self.channels[channel.name] = channel
        return channel

    # --- ffmpeg's output ---

    def read_playlist(self, variant):
        path = os.path.join(self.directory, f"v{variant}", "index.m3u8")
        for _ in range(20):
            try:
                with open(path) as f:
                    text = f.read()
            except FileNotFoundError:
                text = ""
            if text.startswith("#EXTM3U"):
                return text
            gevent.sleep(0.01)
        raise RuntimeError(f"no readable playlist at {path}")

    def _watch(self):
        """Record every segment's PDT and duration as ffmpeg publishes it."""
        while True:
            for v in range(self.variant_count):
                try:
                    _, segments, _ = parse_ffmpeg_playlist(self.read_playlist(v))
                except RuntimeError:
                    continue
                for segment in segments:
                    if segment.byterange:
                        # ffmpeg's single_file playlists keep MEDIA-SEQUENCE at 0 as the window
                        # slides: number the ranges in the order they appear instead.
                        numbers = self._range_numbers.setdefault(v, {})
                        segment.seq = numbers.setdefault(segment.byterange[0], len(numbers))
                    if segment.seq is not None and segment.seq not in self.history[v]:
                        self.details[v][segment.seq] = Details(utcnow(), segment.byterange)
                        self.history[v][segment.seq] = (segment.pdt, segment.duration,
                            os.path.join(self.directory, f"v{v}", segment.uri))
            gevent.sleep(0.05)

    def last_seq(self, variant=0):
        return max(self.history[variant]) if self.history[variant] else -1

    def next_seq(self, variant=0):
        """A segment number not published yet (so a fault set for it is in place in time)."""
        return self.last_seq(variant) + 1

    def wait_for_seq(self, seq, variant=0, timeout=20):
        deadline = time.monotonic() + timeout
        while seq not in self.history[variant]:
            if time.monotonic() > deadline:
                raise AssertionError(f"origin did not publish segment {seq} in {timeout}s")
            gevent.sleep(0.05)
        return self.history[variant][seq]

    # --- HTTP ---

    def app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        for prefix, handler in self.routes:
            if path.startswith(prefix):
                return handler(environ, start_response)
        m = re.match(r"^/c/([^/]+)/(.*)$", path)
        channel = self.channels.get(m.group(1)) if m else None
        if channel is None:
            return respond(start_response, 404, b"no such channel\n")
        rest = m.group(2)
        if rest.startswith("key/"):
            found = rest == KEY_PATH and self.encrypted
            channel.requests.append(("key", None, None, None, 200 if found else 404, rest))
            if not found:
                return respond(start_response, 404, b"no such key\n")
            return respond(start_response, 200, KEY, "application/octet-stream")
        if rest == "master.m3u8":
            if channel.master_missing:
                channel.requests.append(("master", None, None, None, 404, "missing"))
                return respond(start_response, 404, b"offline\n")
            channel.requests.append(("master", None, None, channel.generation, 200, "ok"))
            return respond(start_response, 200, channel.master_playlist().encode(),
                "application/vnd.apple.mpegurl")
        m = re.match(r"^g(\d+)/v(\d+)/(.+)$", rest)
        if not m or int(m.group(2)) >= self.variant_count:
            return respond(start_response, 404, b"not found\n")
        generation, variant, name = int(m.group(1)), int(m.group(2)), m.group(3)
        if name == "index.m3u8":
            if generation < channel.forbidden_below:
                channel.requests.append(("playlist", variant, None, generation, 403, "forbidden"))
                return respond(start_response, 403, b"expired\n")
            channel.requests.append(("playlist", variant, None, generation, 200, "ok"))
            return respond(start_response, 200, channel.media_playlist(variant).encode(),
                "application/vnd.apple.mpegurl")
        if channel.segments_forbidden and generation < channel.forbidden_below:
            seq = SEGMENT_RE.match(name)
            channel.requests.append(("segment", variant, int(seq.group(1)) if seq else None,
                generation, 403, "forbidden"))
            return respond(start_response, 403, b"expired\n")
        return self.serve_segment(channel, generation, variant, name, start_response,
            environ.get("HTTP_RANGE"))

    def serve_segment(self, channel, generation, variant, name, start_response, ranges=None):
        path = os.path.join(self.directory, f"v{variant}", os.path.basename(name))
        m = SEGMENT_RE.match(name)
        seq = int(m.group(1)) if m else None
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            channel.requests.append(("segment", variant, seq, generation, 404, "missing"))
            return respond(start_response, 404, b"no such segment\n")
        if name == SINGLE_FILE:
            return self.serve_range(channel, generation, variant, data, start_response, ranges)
        if seq is None:   # an init section (fMP4 EXT-X-MAP)
            channel.requests.append(("init", variant, None, generation, 200, name))
            return respond(start_response, 200, data, "video/mp4")
        fault = channel.take_fault(variant, seq)
        channel.requests.append(("segment", variant, seq, generation, 200, fault or "ok"))
        if fault == "404":
            return respond(start_response, 404, b"gone\n")
        if fault == "empty":
            return respond(start_response, 200, b"", "video/mp2t")
        headers = [("Content-Type", "video/mp2t"), ("Content-Length", str(len(data)))]
        start_response("200 OK", headers)
        if fault == "cut":
            return cut_body(data)
        if fault == "slow":
            return slow_body(data, channel.slow_seconds)
        return [data]


    def serve_range(self, channel, generation, variant, data, start_response, ranges):
        """A byte range of the single file (206), or all of it without a Range header or
        when the channel ignores ranges (200)."""
        m = re.match(r"^bytes=(\d+)-(\d+)$", ranges or "")
        if m is None or channel.ignore_ranges:
            channel.requests.append(("range", variant, None, generation, 200, "whole file"))
            return respond(start_response, 200, data, "video/mp2t")
        first, last = int(m.group(1)), int(m.group(2))
        if last >= len(data):
            channel.requests.append(("range", variant, first, generation, 416, "beyond"))
            return respond(start_response, 416, b"range not satisfiable\n")
        channel.requests.append(("range", variant, first, generation, 206, "ok"))
        body = data[first:last + 1]
        start_response("206 Partial Content", [
            ("Content-Type", "video/mp2t"), ("Content-Length", str(len(body))),
            ("Content-Range", f"bytes {first}-{last}/{len(data)}")])
        return [body]


class CutConnection(Exception):
    """Raised inside a response body to make the server drop the connection."""


class _Handler(WSGIHandler):
    def _log_error(self, t, v, tb):
        if not isinstance(v, CutConnection):  # an injected fault is not an error
            super()._log_error(t, v, tb)


def cut_body(data):
    yield data[:len(data) // 2]
    gevent.sleep(0.05)
    raise CutConnection("connection cut by fault injection")


def slow_body(data, seconds, pieces=10):
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        yield data[i:i + step]
        gevent.sleep(seconds / pieces)


def respond(start_response, status, body, content_type="text/plain"):
    reason = {200: "OK", 403: "Forbidden", 404: "Not Found", 400: "Bad Request"}.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", content_type),
        ("Content-Length", str(len(body))), ("Cache-Control", "no-cache")])
    return [body]


def archived(base, stream, variant):
    """SegmentInfo of every file (any type, temp included) under base/stream/variant."""
    from common.segments import parse_segment_path

    root = os.path.join(base, stream, variant)
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if dirpath != root:  # not variant.json
                found.append(parse_segment_path(os.path.join(dirpath, name)))
    return sorted(found, key=lambda s: (s.start, s.type))
