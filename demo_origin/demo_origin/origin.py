"""A built-in live HLS origin for trying the suite without a real stream.

    python -m demo_origin --port 8010 [--host 127.0.0.1] [--dir D] [--segment-duration 2]

ffmpeg encodes a test pattern (with a burned-in UTC clock when the ffmpeg build has drawtext)
and a sine tone, in real time, into a live two-variant HLS stream (640x360 and 320x180), which is
served over HTTP: master playlist at /master.m3u8. Every segment carries an
EXT-X-PROGRAM-DATE-TIME, like Twitch's. Encoding is kept cheap (small frames, ultrafast x264).
SIGTERM/SIGINT stops ffmpeg and removes the temporary directory.
"""

import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from common.service import HelpFormatter, OneLineErrorParser, die, port_number, setup_logging

from .processes import stop_ffmpeg, with_parent_death_signal

log = logging.getLogger("demo_origin")

DEFAULT_SIZES = ((640, 360), (320, 180))


def has_drawtext():
    try:
        out = subprocess.run(["ffmpeg", "-hide_banner", "-filters"], capture_output=True,
            text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return " drawtext " in out.stdout


def ffmpeg_hls_command(out_dir, segment_duration=2, sizes=DEFAULT_SIZES, fps=30, list_size=6,
        delete_segments=True, clock=True, realtime=True, fmp4=False):
    """An ffmpeg command writing a live multi-variant HLS stream into out_dir:
    out_dir/master.m3u8, out_dir/vN/index.m3u8 and out_dir/vN/segK.ts (K = sequence number)."""
    n = len(sizes)
    chain = "[0:v]"
    if clock and has_drawtext():
        size = max(12, sizes[0][1] // 12)
        chain += ("drawtext=text='%{gmtime\\:%Y-%m-%d %H\\\\\\:%M\\\\\\:%S} UTC  %{n}'"
                  f":fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.6:x=8:y=8,")
    chain += f"split={n}" + "".join(f"[s{i}]" for i in range(n))
    filters = [chain] + [f"[s{i}]scale={w}:{h}[v{i}]" for i, (w, h) in enumerate(sizes)]
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin"]
    if realtime:
        cmd.append("-re")
    cmd += ["-f", "lavfi", "-i", f"testsrc2=size={sizes[0][0]}x{sizes[0][1]}:rate={fps}",
            "-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4:sample_rate=44100",
            "-filter_complex", ";".join(filters)]
    for i in range(n):
        cmd += ["-map", f"[v{i}]", "-map", "1:a"]
    gop = max(1, int(round(fps * segment_duration)))
    # A keyframe exactly every segment, so every segment starts cleanly and lasts exactly that.
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    for i, (w, h) in enumerate(sizes):
        cmd += [f"-b:v:{i}", f"{max(50, w * h // 200)}k"]
    cmd += ["-c:a", "aac", "-b:a", "48k", "-ac", "1"]
    flags = "program_date_time+independent_segments+temp_file"
    if delete_segments:
        flags += "+delete_segments"
    cmd += ["-f", "hls", "-hls_time", str(segment_duration), "-hls_list_size", str(list_size),
            "-hls_flags", flags, "-master_pl_name", "master.m3u8",
            "-var_stream_map", " ".join(f"v:{i},a:{i}" for i in range(n))]
    if fmp4:
        cmd += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
                "-hls_segment_filename", os.path.join(out_dir, "v%v", "seg%d.m4s")]
    else:
        cmd += ["-hls_segment_filename", os.path.join(out_dir, "v%v", "seg%d.ts")]
    cmd.append(os.path.join(out_dir, "v%v", "index.m3u8"))
    return cmd


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self):
        if self.path.split("?")[0].endswith(".m3u8"):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        pass  # one line per request would drown the suite's logs

    def send_head(self):
        if "\0" in self.translate_path(self.path):  # open() would raise: a traceback, no reply
            self.send_error(400, "NUL in path")
            return None
        return super().send_head()

    def guess_type(self, path):
        if str(path).endswith(".m3u8"):
            return "application/vnd.apple.mpegurl"
        if str(path).endswith(".ts"):
            return "video/mp2t"
        return super().guess_type(path)


class DemoOrigin:
    def __init__(self, directory, host="127.0.0.1", port=0, segment_duration=2,
            sizes=DEFAULT_SIZES, fps=30):
        self.directory = directory
        self.command = ffmpeg_hls_command(directory, segment_duration, sizes, fps)
        self.server = ThreadingHTTPServer((host, port),
            functools.partial(_Handler, directory=directory))
        self.server.daemon_threads = True
        self.process = None
        self.stopping = threading.Event()

    @property
    def port(self):
        return self.server.server_address[1]

    def start(self):
        self.start_ffmpeg()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self.supervise, daemon=True).start()
        return self

    def start_ffmpeg(self):
        self.process = subprocess.Popen(with_parent_death_signal(self.command),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def supervise(self):
        """Restart ffmpeg if it dies (a demo stream should just keep going)."""
        while not self.stopping.is_set():
            code = self.process.wait()
            if self.stopping.is_set():
                return
            err = self.process.stderr.read().decode(errors="replace").strip()[-500:]
            log.error("ffmpeg exited with %s (%s); restarting in 2s", code, err or "no output")
            if self.stopping.wait(2):
                return
            self.start_ffmpeg()

    def wait_ready(self, timeout=30):
        """Wait until the master and every variant playlist list a segment."""
        deadline = time.monotonic() + timeout
        paths = [os.path.join(self.directory, "master.m3u8")]
        while time.monotonic() < deadline:
            variants = [d for d in os.listdir(self.directory) if d.startswith("v")]
            ready = variants and all(os.path.exists(p) for p in paths) and all(
                _lists_segment(os.path.join(self.directory, v, "index.m3u8")) for v in variants)
            if ready:
                return True
            if self.stopping.wait(0.2):
                return False
        return False

    def stop(self):
        self.stopping.set()
        stop_ffmpeg(self.process)
        self.server.shutdown()
        self.server.server_close()


def _lists_segment(path):
    try:
        with open(path) as f:
            return "#EXTINF" in f.read()
    except FileNotFoundError:
        return False


def main(argv=None):
    parser = OneLineErrorParser(prog="python -m demo_origin",
        description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--port", type=port_number, required=True,
        help="HTTP port to serve on (0: any free port, logged)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--dir", help="directory for ffmpeg's output (default: a temporary"
                        " directory, removed on exit)")
    parser.add_argument("--segment-duration", type=int, default=2, help="seconds per segment")
    parser.add_argument("--log-level", default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity")
    args = parser.parse_args(argv)
    setup_logging("demo_origin", args.log_level)
    if args.segment_duration < 1:
        die("--segment-duration must be at least 1")
    if shutil.which("ffmpeg") is None:
        die("ffmpeg is not installed (or not on PATH)")
    temp = args.dir is None
    directory = tempfile.mkdtemp(prefix="demo_origin_") if temp else args.dir
    try:
        os.makedirs(directory, exist_ok=True)
        try:
            origin = DemoOrigin(directory, args.host, args.port, args.segment_duration)
        except OSError as e:
            die(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        origin.start()
        log.info("demo stream at http://%s:%d/master.m3u8 (ffmpeg output in %s)", args.host,
            origin.port, directory)
        if origin.wait_ready():
            log.info("demo stream is live")
        stop.wait()
        log.info("stopping")
        origin.stop()
    finally:
        if temp:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
