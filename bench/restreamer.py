#!/usr/bin/env python3
"""Restreamer performance: playlists, small keep-alive responses, cut throughput and memory.

Runs a real restreamer (`python -m restreamer`) on synthetic archives in a temporary directory:
  - playlists: a 24-hour variant of 43,200 named (empty) segments. Media playlist latency over
    HTTP for 1 h and 24 h ranges: first request, then repeated (median, p95), and with several
    concurrent clients. Baseline, in this process: the straightforward implementation (list the
    hours, strptime every name, best per start, an m3u8 object model, dumps()).
  - live: reloading a live playlist whose start is 23 hours back (MEDIA-SEQUENCE counts every
    segment since then).
  - small responses: /files/STREAM/VARIANT on a keep-alive connection (median, p95); baseline:
    the same server with TCP_NODELAY left off.
  - cuts: a variant of real encoded segments (default 60 minutes; generated once by ffmpeg and
    cached by tests/support/archive.py): rough and fast cut throughput (seconds of video per
    second, MB/s) next to `cat` of the same files, and the server's peak RSS during each cut.

    .venv/bin/python bench/restreamer.py [--repeat 20] [--cut-minutes 60] [--skip-cuts]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta

import m3u8
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from common.segments import segment_file_name  # noqa: E402
from common.dateutil import utcnow

START = datetime(2026, 11, 20, 0, 0)
SEG = timedelta(seconds=2)
HASH = "Q" * 42 + "A"


def build_names(base, hours=24):
    """BASE/bench/source: `hours` of 2-second segments (empty files), settled mtimes."""
    for h in range(hours):
        hour = START + timedelta(hours=h)
        hour_dir = os.path.join(base, "bench", "source", hour.strftime("%Y-%m-%dT%H"))
        os.makedirs(hour_dir)
        for i in range(1800):
            open(os.path.join(hour_dir, segment_file_name(hour + i * SEG, SEG, "full", HASH)),
                 "w").close()
    past = time.time() - 3600
    for dirpath, _, _ in os.walk(base):
        os.utime(dirpath, (past, past))


def baseline_playlist(hours_path, start, end):
    """What a first implementation does: strptime every name, m3u8 objects, dumps()."""
    best = {}
    hour = start.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    while hour < end:
        hour_name = hour.strftime("%Y-%m-%dT%H")
        path = os.path.join(hours_path, hour_name)
        names = os.listdir(path) if os.path.isdir(path) else []
        for name in names:
            offset, duration, type, _ = name[:-3].split("-", 3)
            seg_start = datetime.strptime(f"{hour_name}:{offset}", "%Y-%m-%dT%H:%M:%S.%f")
            seg = (seg_start, timedelta(seconds=float(duration)), type, f"{hour_name}/{name}")
            if seg_start not in best or (type == "full" and best[seg_start][2] != "full"):
                best[seg_start] = seg
        hour += timedelta(hours=1)
    playlist = m3u8.M3U8()
    playlist.version = 3
    previous = None
    for seg_start in sorted(best):
        seg_start, duration, type, rel = best[seg_start]
        if seg_start + duration <= start or seg_start >= end:
            continue
        gap = previous is not None and abs(seg_start - previous) > timedelta(milliseconds=10)
        playlist.segments.append(m3u8.Segment(
            uri="../../segments/bench/source/" + rel.replace(":", "%3A"),
            duration=duration.total_seconds(), program_date_time=seg_start, discontinuity=gap))
        previous = seg_start + duration
    playlist.target_duration = 2
    playlist.is_endlist = True
    return playlist.dumps()


def start_server(base, *flags):
    proc = subprocess.Popen([sys.executable, "-m", "restreamer", "--base-dir", base, "--host",
                             "127.0.0.1", "--port", "0", "--log-level", "WARNING", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # WARNING level hides the "serving" line: find the port from /proc instead.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        port = _listening_port(proc.pid)
        if port:
            return proc, port
        if proc.poll() is not None:
            raise RuntimeError("restreamer exited: " + proc.stderr.read())
        time.sleep(0.05)
    raise RuntimeError("restreamer did not start listening")


def _listening_port(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            match = re.match(r"socket:\[(\d+)\]", target)
            if match:
                inodes.add(match.group(1))
    except (FileNotFoundError, PermissionError):
        return None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                return int(fields[1].split(":")[1], 16)
    return None


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timings(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def ms(seconds):
    return f"{seconds * 1000:8.1f} ms"


def bench_playlists(base, port, repeat, clients):
    session = requests.Session()
    hours_path = os.path.join(base, "bench", "source")
    print("media playlists (24-hour archive, 43,200 segments):")
    for label, hours in (("1 h", 1), ("24 h", 24)):
        start = START
        end = START + timedelta(hours=hours)
        url = (f"http://127.0.0.1:{port}/playlist/bench/source.m3u8"
               f"?start={start.isoformat()}Z&end={end.isoformat()}Z")
        t = time.perf_counter()
        first = session.get(url)
        first_time = time.perf_counter() - t
        assert first.status_code == 200 and first.text.count("#EXTINF") == hours * 1800
        median, p95 = timings(lambda: session.get(url).content, repeat)
        base_first = timings(lambda: baseline_playlist(hours_path, start, end), 1)[0]
        base_median, _ = timings(lambda: baseline_playlist(hours_path, start, end),
                                 max(3, repeat // 4))
        print(f"  {label:>4}: {len(first.content) / 1e6:5.1f} MB  first {ms(first_time)}"
              f"  repeated median {ms(median)} p95 {ms(p95)}")
        print(f"        baseline (m3u8 objects, strptime): first {ms(base_first)}"
              f"  repeated median {ms(base_median)}  -> {base_median / median:5.1f}x faster")
        # Concurrent clients, each on its own keep-alive connection.
        per_client = max(2, repeat // 2)
        results = []

        def client():
            s = requests.Session()
            for _ in range(per_client):
                t0 = time.perf_counter()
                s.get(url).content
                results.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        results.sort()
        print(f"        {clients} concurrent clients: median {ms(statistics.median(results))}"
              f" p95 {ms(results[int(len(results) * 0.95) - 1])}"
              f"  throughput {len(results) / wall:6.1f} playlists/s")


# Baseline for small responses: the same app and server with TCP_NODELAY left off.
_NAGLE_SERVER = """
from gevent import monkey; monkey.patch_all()
import sys
from common import http_server as server
from restreamer.app import Config, create_app
server.Server.handle = lambda self, sock, address: server.WSGIServer.handle(self, sock, address)
s = server.make_server(create_app(Config(sys.argv[1])), "127.0.0.1", 0)
s.serve_forever()
"""


def build_live(base, hours=23):
    """BASE/bench/live: `hours` of segments up to now, each arrived 1 s after it ended."""
    now = utcnow()
    t = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    origin = t
    while t < now - timedelta(seconds=12):
        hour_dir = os.path.join(base, "bench", "live", t.strftime("%Y-%m-%dT%H"))
        os.makedirs(hour_dir, exist_ok=True)
        path = os.path.join(hour_dir, segment_file_name(t, SEG, "full", HASH))
        open(path, "w").close()
        arrived = (t + SEG + timedelta(seconds=1) - datetime(1970, 1, 1)).total_seconds()
        os.utime(path, (arrived, arrived))
        t += SEG
    return origin


def bench_live(port, origin, repeat):
    session = requests.Session()
    url = f"http://127.0.0.1:{port}/playlist/bench/live.m3u8?start={origin.isoformat()}Z"
    t = time.perf_counter()
    assert session.get(url).status_code == 200
    first = time.perf_counter() - t
    median, p95 = timings(lambda: session.get(url).content, repeat)
    print(f"live playlist reload (last 30 of ~{(utcnow() - origin).total_seconds() / 2:,.0f}"
          f" segments since its start): first {ms(first)}  median {ms(median)} p95 {ms(p95)}")


def bench_small(base, port, repeat):
    def measure(port):
        session = requests.Session()
        url = f"http://127.0.0.1:{port}/files/bench/source"
        session.get(url)
        return timings(lambda: session.get(url).content, max(repeat * 10, 200))

    median, p95 = measure(port)
    print(f"small response (/files/STREAM/VARIANT, keep-alive): median {ms(median)} p95 {ms(p95)}")
    proc = subprocess.Popen([sys.executable, "-c", _NAGLE_SERVER, base])
    try:
        deadline = time.monotonic() + 30
        nagle_port = None
        while nagle_port is None and time.monotonic() < deadline:
            nagle_port = _listening_port(proc.pid)
            time.sleep(0.05)
        base_median, base_p95 = measure(nagle_port)
        print(f"        baseline without TCP_NODELAY: median {ms(base_median)} p95 {ms(base_p95)}"
              f"  -> {base_median / median:5.1f}x slower")
    finally:
        proc.terminate()
        proc.wait()


def bench_cuts(cut_minutes, repeat_dir):
    from support.archive import build_archive
    count = cut_minutes * 30
    base = os.path.join(repeat_dir, "cuts")
    print(f"cuts ({cut_minutes} min of real 320x240 H.264+AAC segments; generating them "
          "once may take a minute)...")
    paths = build_archive(base, "bench", "v", START, count)
    proc, port = start_server(base)
    try:
        total = sum(os.path.getsize(p) for p in paths)
        t = time.perf_counter()
        subprocess.run(["cat", *paths], stdout=subprocess.DEVNULL, check=True)
        cat_time = time.perf_counter() - t
        video_seconds = count * 2
        print(f"  cat of the files: {total / 1e6:7.1f} MB in {cat_time:6.2f} s"
              f" = {total / 1e6 / cat_time:7.1f} MB/s")
        base_rss = rss_mb(proc.pid)
        for kind in ("rough", "fast"):
            start, end = START + timedelta(seconds=1), START + timedelta(seconds=video_seconds - 1)
            url = (f"http://127.0.0.1:{port}/cut/bench/v.ts?start={start.isoformat()}Z"
                   f"&end={end.isoformat()}Z&type={kind}")
            peak = [base_rss]
            done = threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mb(proc.pid))
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            t = time.perf_counter()
            size = 0
            with requests.get(url, stream=True) as response:
                assert response.status_code == 200, response.text
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
            elapsed = time.perf_counter() - t
            done.set()
            sampler.join()
            print(f"  {kind:>5} cut: {size / 1e6:7.1f} MB in {elapsed:6.2f} s ="
                  f" {(video_seconds - 2) / elapsed:8.0f} s of video per s,"
                  f" {size / 1e6 / elapsed:7.1f} MB/s ({size / 1e6 / elapsed / (total / 1e6 / cat_time):.2f}x cat);"
                  f" server RSS {base_rss:.0f} MB idle, peak {peak[0]:.0f} MB")
    finally:
        proc.terminate()
        proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="requests per measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent playlist clients")
    parser.add_argument("--cut-minutes", type=int, default=60, help="length of the cut archive")
    parser.add_argument("--skip-cuts", action="store_true", help="only playlists and small")
    parser.add_argument("--keep", help="build the archive here and keep it")
    args = parser.parse_args()
    base = args.keep or tempfile.mkdtemp(prefix="bench-restreamer-")
    try:
        if not os.path.isdir(os.path.join(base, "bench")):
            t = time.perf_counter()
            build_names(base)
            print(f"built a 24-hour archive of names in {time.perf_counter() - t:.1f} s")
        shutil.rmtree(os.path.join(base, "bench", "live"), ignore_errors=True)
        live_origin = build_live(base)
        proc, port = start_server(base)
        try:
            bench_small(base, port, args.repeat)
            bench_playlists(base, port, args.repeat, args.clients)
            bench_live(port, live_origin, args.repeat)
            print(f"server RSS after playlists: {rss_mb(proc.pid):.0f} MB")
        finally:
            proc.terminate()
            proc.wait()
        if not args.skip_cuts:
            bench_cuts(args.cut_minutes, base)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
