"""The soak's stream: the demo origin's ffmpeg (segments kept, so a late retry still finds
them) behind an HTTP server that can be made unreachable or cut segment bodies short, plus
the origin's own log of every segment it published (variant, sequence, PDT, duration, and
when it appeared in and left its playlist)."""

import functools
import json
import os
import socket
import subprocess
import threading
import time
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from common.dateutil import parse as parse_time
from demo_origin.origin import ffmpeg_hls_command
from demo_origin.processes import stop_ffmpeg, with_parent_death_signal

NORMAL, DOWN, TRUNCATE = "normal", "down", "truncate"


class Published:
    """One segment as the origin listed it; times are naive UTC (PDT) / epoch (appeared)."""

    __slots__ = ("variant", "seq", "start", "duration", "appeared", "left")

    def __init__(self, variant, seq, start, duration, appeared):
        self.variant, self.seq, self.start, self.duration = variant, seq, start, duration
        self.appeared, self.left = appeared, None

    @property
    def end(self):
        return self.start + self.duration

    def as_json(self):
        return {"variant": self.variant, "seq": self.seq, "start": self.start.isoformat(),
                "duration": self.duration.total_seconds(), "appeared": self.appeared,
                "left": self.left}


def parse_media_playlist(text):
    """[(seq, pdt, duration)] of an ffmpeg media playlist."""
    out, seq, pdt, duration = [], 0, None, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            seq = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = parse_time(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = timedelta(seconds=float(line[8:].split(",")[0]))
        elif line and not line.startswith("#"):
            out.append((seq, pdt, duration))
            seq, pdt, duration = seq + 1, None, None
    return out


class _Handler(SimpleHTTPRequestHandler):
    origin = None  # set per server via functools.partial's class attribute below

    def log_message(self, format, *args):
        pass

    def handle_one_request(self):
        if self.server.soak_origin.mode == DOWN:
            # Unreachable: the connection is dropped without an answer.
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        super().handle_one_request()

    def end_headers(self):
        if self.path.endswith(".m3u8"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def copyfile(self, source, outputfile):
        if self.server.soak_origin.mode == TRUNCATE and self.path.endswith(".ts"):
            # The full Content-Length was announced; half the body, then the connection closes.
            data = source.read()
            outputfile.write(data[:len(data) // 2])
            outputfile.flush()
            self.close_connection = True
            self.server.soak_origin.truncated += 1
            return
        super().copyfile(source, outputfile)


class SoakOrigin:
    def __init__(self, directory, port, log_path, segment_duration=2):
        self.directory = directory
        self.log_path = log_path
        self.mode = NORMAL
        self.truncated = 0
        os.makedirs(directory, exist_ok=True)
        self.command = ffmpeg_hls_command(directory, segment_duration, delete_segments=False)
        self.server = ThreadingHTTPServer(("127.0.0.1", port),
                                          functools.partial(_Handler, directory=directory))
        self.server.daemon_threads = True
        self.server.soak_origin = self
        # A client that hangs up mid-body (a truncated fetch, a killed downloader) is expected.
        self.server.handle_error = lambda request, address: None
        self.process = None
        self.stopping = threading.Event()
        self.published = {}   # (variant, seq) -> Published
        self.lock = threading.Lock()
        self.ffmpeg_restarts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/master.m3u8"

    def start(self):
        self._start_ffmpeg()
        for target in (self.server.serve_forever, self._watch, self._supervise):
            threading.Thread(target=target, daemon=True).start()
        return self

    def _start_ffmpeg(self):
        self.process = subprocess.Popen(with_parent_death_signal(self.command),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _supervise(self):
        while not self.stopping.is_set():
            self.process.wait()
            if self.stopping.wait(1):
                return
            self.ffmpeg_restarts += 1
            self._start_ffmpeg()

    def _watch(self):
        """Log each segment when it appears in a playlist and when it leaves it."""
        with open(self.log_path, "a") as log:
            while not self.stopping.wait(0.25):
                for variant in self._variants():
                    self._scan(variant, log)

    def _variants(self):
        try:
            return sorted(d for d in os.listdir(self.directory) if d.startswith("v"))
        except OSError:
            return []

    def _scan(self, variant, log):
        try:
            with open(os.path.join(self.directory, variant, "index.m3u8")) as f:
                listed = parse_media_playlist(f.read())
        except OSError:
            return
        now = time.time()
        seqs = set()
        with self.lock:
            for seq, pdt, duration in listed:
                seqs.add(seq)
                if pdt is None or (variant, seq) in self.published:
                    continue
                self.published[(variant, seq)] = Published(variant, seq, pdt, duration, now)
            low = min(seqs, default=None)
            for key, segment in self.published.items():
                if key[0] == variant and segment.left is None and low is not None \
                        and key[1] < low:
                    segment.left = now
                    log.write(json.dumps(segment.as_json()) + "\n")
            log.flush()

    def segments(self):
        with self.lock:
            return list(self.published.values())

    def set_mode(self, mode):
        self.mode = mode

    def stop(self):
        self.stopping.set()
        stop_ffmpeg(self.process)
        self.server.shutdown()
        self.server.server_close()
