"""Benchmark: the downloader following the local demo origin (2 variants, 2-second segments).

    .venv/bin/python bench/downloader.py [--duration 60]

Prints, for the run:
  - segments lost: segments that appeared in a media playlist while the downloader ran and have
    no `full` file starting at their PDT (must be 0);
  - delay from a segment appearing in its playlist (seen by this script polling every 20 ms) to
    its final file existing (the file's ctime: the rename), median and p95 (target p95 < 1 s);
  - baseline: the same delay for a bare client that GETs each segment into memory the moment
    this script sees it (the floor for any downloader), and the ratio against it;
  - the downloader's CPU use (user+system, % of one core) and peak RSS.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urljoin

import requests

from common.segments import parse_segment_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PDT_RE = re.compile(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_pdt(text):
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def parse_playlist(text, url):
    """[(pdt, segment url)] of a media playlist (PDT before or after EXTINF)."""
    out, pdt = [], None
    for line in text.splitlines():
        line = line.strip()
        m = PDT_RE.match(line)
        if m:
            pdt = parse_pdt(m.group(1))
        elif line and not line.startswith("#"):
            out.append((pdt, urljoin(url, line)))
            pdt = None
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class PlaylistWatcher(threading.Thread):
    """Polls media playlists every 20 ms; records when each segment first appears, and GETs it
    at once (the baseline client)."""

    def __init__(self, variants):
        super().__init__(daemon=True)
        self.variants = variants          # name -> media playlist URL
        self.first_seen = {}              # (name, pdt) -> time.time()
        self.baseline = {}                # (name, pdt) -> seconds from first seen to bytes in
        self.stop = threading.Event()
        self.session = requests.Session()

    def run(self):
        while not self.stop.is_set():
            for name, url in self.variants.items():
                try:
                    text = self.session.get(url, timeout=5).text
                except requests.RequestException:
                    continue
                now = time.time()
                for pdt, seg_url in parse_playlist(text, url):
                    key = (name, pdt)
                    if key not in self.first_seen:
                        self.first_seen[key] = now
                        threading.Thread(target=self.fetch, args=(key, seg_url, now),
                            daemon=True).start()
            self.stop.wait(0.02)

    def fetch(self, key, url, seen):
        try:
            requests.get(url, timeout=10).content
            self.baseline[key] = time.time() - seen
        except requests.RequestException:
            pass


def archive_files(base, stream):
    """{(variant, start): ctime} of full segment files."""
    found = {}
    root = os.path.join(base, stream)
    if not os.path.isdir(root):
        return found
    for variant in os.listdir(root):
        for dirpath, _dirs, names in os.walk(os.path.join(root, variant)):
            for name in names:
                try:
                    segment = parse_segment_path(os.path.join(dirpath, name))
                except ValueError:
                    continue
                if segment.type == "full":
                    found[(variant, segment.start)] = os.stat(segment.path).st_ctime
    return found


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60, help="seconds to run")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench_downloader_")
    port = free_port()
    python = sys.executable
    env = dict(os.environ, PYTHONPATH=ROOT)
    demo = subprocess.Popen([python, "-m", "demo_origin", "--port", str(port), "--dir",
        os.path.join(work, "origin"), "--log-level", "WARNING"], env=env)
    downloader = None
    watcher = None
    try:
        master_url = f"http://127.0.0.1:{port}/master.m3u8"
        deadline = time.time() + 30
        while True:
            try:
                master = requests.get(master_url, timeout=2)
                if master.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.time() > deadline:
                sys.exit("demo origin did not start")
            time.sleep(0.2)
        media = [urljoin(master_url, l) for l in master.text.splitlines()
                 if l.strip() and not l.startswith("#")]
        variants = dict(zip(["source", "180p"], media))   # the demo's naming, see README
        base = os.path.join(work, "archive")
        watcher = PlaylistWatcher(variants)
        watcher.start()
        time.sleep(0.5)   # let the watcher see the segments already listed
        started = time.time()
        downloader = subprocess.Popen([python, "-m", "downloader", "--stream", "bench",
            master_url, "--base-dir", base, "--qualities", "all", "--metrics-port", "0",
            "--log-level", "WARNING"], env=env)
        time.sleep(1)
        cpu_start, cpu_wall = cpu_seconds(downloader.pid), time.time()
        time.sleep(args.duration)
        cpu_used = cpu_seconds(downloader.pid) - cpu_start
        cpu_elapsed = time.time() - cpu_wall
        rss = peak_rss_kb(downloader.pid)
        ended = time.time()
        time.sleep(3)     # let the newest segments land
        downloader.send_signal(signal.SIGTERM)
        code = downloader.wait(30)
        watcher.stop.set()
        files = archive_files(base, "bench")
    finally:
        if downloader is not None and downloader.poll() is None:
            downloader.kill()
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(15)
        except subprocess.TimeoutExpired:
            demo.kill()

    # Segments that appeared while the downloader was running (the ones listed before it
    # started are captured too, but their delay is meaningless).
    window = {k: t for k, t in watcher.first_seen.items() if started + 0.5 < t <= ended}
    lost = [k for k in window if k not in files]
    delays = [files[k] - t for k, t in window.items() if k in files]
    base_delays = [watcher.baseline[k] for k in window if k in watcher.baseline]
    shutil.rmtree(work, ignore_errors=True)

    print(f"downloader benchmark: {args.duration:.0f} s live run, 2 variants, 2 s segments")
    print(f"  segments in playlists during the run: {len(window)}")
    print(f"  segments lost:                        {len(lost)}")
    if delays:
        print(f"  playlist-to-file delay median:        {statistics.median(delays) * 1000:.0f} ms")
        print(f"  playlist-to-file delay p95:           {percentile(delays, 95) * 1000:.0f} ms")
        print(f"  playlist-to-file delay max:           {max(delays) * 1000:.0f} ms")
    if base_delays:
        b50 = statistics.median(base_delays)
        print(f"  baseline (bare GET on sight) median:  {b50 * 1000:.0f} ms")
        if delays:
            print(f"  delay median / baseline median:       {statistics.median(delays) / b50:.1f}x")
    print(f"  downloader CPU: {cpu_used:.2f} s over {cpu_elapsed:.0f} s"
          f" = {100 * cpu_used / cpu_elapsed:.1f}% of one core; peak RSS {rss / 1024:.0f} MiB")
    print(f"  downloader exit code on SIGTERM: {code}")
    if lost:
        print("  LOST:", sorted(lost)[:10])
        sys.exit(1)


if __name__ == "__main__":
    main()
