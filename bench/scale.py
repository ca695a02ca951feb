#!/usr/bin/env python3
"""The archive at scale: 1, 7 and 30 days of one variant, written on time and written all at
once (as on a node that backfilled its history), served by real daemons.

For each size and way of writing, prints one row of:
  - live playlist (no `start`): first request of a server that never served the archive, the
    first after a restart, and a reload (median);
  - fixed 24-hour playlist (the archive's last day): first request, repeat (median);
  - the worst latency of a small request (`GET /files/STREAM/VARIANT`) probed every 20 ms on
    another connection while each of those runs;
  - segment_coverage: a cold check (new process) and a warm one (the same checker again);
  - a backfiller sweep (`--run-once`) from the restreamer of the same archive: nothing to fetch;
  - each daemon's peak RSS (VmHWM).

The archive is built once into --cache (reused between runs; larger sizes extend it): 2-second
segments as empty files, named with the hash of their (zero) bytes, one directory per hour
ending at the hour the cache was first built. Each size is a directory of symlinks to the newest
hours. "On time" and "late" are the same files with their mtimes set 1 s after each segment's
end, or all to one time after the archive's end; the restreamer's sidecars
(BASE/.restreamer) are removed whenever the mtimes change.

    .venv/bin/python bench/scale.py [--days 1,7,30] [--cache /tmp/scale-bench] [--reloads 10]
"""

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import requests

HERE = os.path.dirname(os.path.abspath(__file__))

from common.segments import hash_name, hour_name, segment_file_name  # noqa: E402
from common.dateutil import utcnow

_spec = importlib.util.spec_from_file_location("bench_restreamer",
                                               os.path.join(HERE, "restreamer.py"))
bench_restreamer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_restreamer)

SEG = timedelta(seconds=2)
HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1)
HASH = hash_name(hashlib.sha256(b"").digest())
STREAM, VARIANT = "s", "v"


# --- the archive ---------------------------------------------------------------------------

def names_of_hour(hour):
    return [segment_file_name(hour + i * SEG, SEG, "full", HASH) for i in range(1800)]


class Store:
    """CACHE/store/HOUR/...: the newest `hours` hours before `end`, mtimes in `state`."""

    def __init__(self, cache):
        self.cache = cache
        self.root = os.path.join(cache, "store")
        self.meta_path = os.path.join(cache, "store.json")
        try:
            with open(self.meta_path) as f:
                meta = json.load(f)
            self.end, self.hours = datetime.fromisoformat(meta["end"]), meta["hours"]
            self.state = meta["state"]
        except (OSError, ValueError, KeyError):
            shutil.rmtree(self.root, ignore_errors=True)
            self.end = utcnow().replace(minute=0, second=0, microsecond=0)
            self.hours, self.state = 0, "late"

    def save(self):
        with open(self.meta_path, "w") as f:
            json.dump({"end": self.end.isoformat(), "hours": self.hours, "state": self.state}, f)

    def hour_list(self, hours):
        return [self.end - (k + 1) * HOUR for k in reversed(range(hours))]

    def ensure(self, hours):
        """Build the hours missing (written now: late), then bring them to self.state."""
        if hours <= self.hours:
            return
        started = time.monotonic()
        new = self.hour_list(hours)[:hours - self.hours]
        for hour in new:
            path = os.path.join(self.root, hour_name(hour))
            os.makedirs(path, exist_ok=True)
            for name in names_of_hour(hour):
                os.close(os.open(os.path.join(path, name), os.O_CREAT | os.O_WRONLY, 0o644))
        if self.state == "on time":
            self._set_mtimes(new, "on time")
        self._settle(new)
        self.hours = hours
        self.save()
        print(f"built {len(new)} hours ({len(new) * 1800:,} files) in "
              f"{time.monotonic() - started:.0f} s", flush=True)

    def set_state(self, state):
        if state != self.state:
            started = time.monotonic()
            self._set_mtimes(self.hour_list(self.hours), state)
            self.state = state
            self.save()
            print(f"mtimes set to {state} in {time.monotonic() - started:.0f} s", flush=True)

    def _set_mtimes(self, hours, state):
        late = (self.end + timedelta(minutes=5) - EPOCH).total_seconds()
        for hour in hours:
            path = os.path.join(self.root, hour_name(hour))
            for i, name in enumerate(names_of_hour(hour)):
                t = (hour + (i + 1) * SEG - EPOCH).total_seconds() + 1 if state == "on time" \
                    else late
                os.utime(os.path.join(path, name), (t, t))
        self._settle(hours)

    def _settle(self, hours):
        """Directories dated an hour back: as if written then, settled for every cache."""
        past = time.time() - 3600
        for hour in hours:
            os.utime(os.path.join(self.root, hour_name(hour)), (past, past))

    def base(self, days):
        """CACHE/base-DAYS: STREAM/VARIANT/HOUR symlinks to the newest days*24 hours."""
        base = os.path.join(self.cache, f"base-{days}")
        variant = os.path.join(base, STREAM, VARIANT)
        os.makedirs(variant, exist_ok=True)
        for hour in self.hour_list(days * 24):
            link = os.path.join(variant, hour_name(hour))
            if not os.path.islink(link):
                os.symlink(os.path.join(self.root, hour_name(hour)), link)
        past = time.time() - 3600
        os.utime(variant, (past, past))
        shutil.rmtree(os.path.join(base, ".restreamer"), ignore_errors=True)
        shutil.rmtree(os.path.join(base, ".coverage"), ignore_errors=True)
        return base


# --- measuring -------------------------------------------------------------------------------

PROBE_CHILD = """
import sys, time, requests
session = requests.Session()
while True:
    sent = time.monotonic()
    session.get(sys.argv[1], timeout=120).raise_for_status()
    print(sent, time.monotonic() - sent, flush=True)
    time.sleep(0.02)
"""


class Probe:
    """GET /files/STREAM/VARIANT every 20 ms on its own connection, from its own process (a
    thread of this one would wait for the GIL while a big playlist is read); worst latency
    per window. Both processes read the same monotonic clock."""

    def __init__(self, port):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBE_CHILD, f"http://127.0.0.1:{port}/files/{STREAM}/{VARIANT}"],
            stdout=subprocess.PIPE, text=True)
        self.samples = []  # (sent, latency)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            sent, latency = line.split()
            self.samples.append((float(sent), float(latency)))

    def worst(self, start, end):
        """Worst latency of the probes sent between start and end. A probe still in flight
        at `end` is waited for: it may be the one the request held up."""
        deadline = time.monotonic() + 30
        while (not self.samples or self.samples[-1][0] < end) and time.monotonic() < deadline \
                and self.proc.poll() is None:
            time.sleep(0.01)
        return max((lat for sent, lat in list(self.samples) if start <= sent <= end),
                   default=0.0)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.thread.join()


def timed_get(session, url):
    started = time.monotonic()
    response = session.get(url, timeout=600)
    response.raise_for_status()
    return time.monotonic() - started, started


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_restreamer(base, store, reloads, row):
    """Fresh server: live first/reload, fixed 24 h first/repeat; restart: live first/reload."""
    live_url = f"/playlist/{STREAM}/{VARIANT}.m3u8"
    fixed_url = (f"{live_url}?start={(store.end - 24 * HOUR).isoformat()}"
                 f"&end={store.end.isoformat()}")
    worst = 0.0
    rss = 0.0
    for attempt in ("first", "restart"):
        proc, port = bench_restreamer.start_server(base)
        probe = Probe(port)
        session = requests.Session()
        try:
            url = f"http://127.0.0.1:{port}"
            first, t0 = timed_get(session, url + live_url)
            worst = max(worst, probe.worst(t0, time.monotonic()))
            times = []
            for _ in range(reloads):
                seconds, t0 = timed_get(session, url + live_url)
                times.append(seconds)
                worst = max(worst, probe.worst(t0, time.monotonic()))
            row[f"live {attempt}"] = first
            row[f"live reload ({attempt})"] = statistics.median(times)
            if attempt == "first":
                fixed, t0 = timed_get(session, url + fixed_url)
                row["probe worst (live)"] = worst
                row["fixed 24 h first"] = fixed
                fixed_worst = probe.worst(t0, time.monotonic())
                times = []
                for _ in range(3):
                    seconds, t0 = timed_get(session, url + fixed_url)
                    times.append(seconds)
                    fixed_worst = max(fixed_worst, probe.worst(t0, time.monotonic()))
                row["fixed 24 h repeat"] = statistics.median(times)
                row["probe worst (fixed)"] = fixed_worst
            rss = max(rss, vm_hwm_mb(proc.pid))
            if attempt == "restart":
                row["probe worst (live)"] = max(row["probe worst (live)"], worst)
                row["RSS restreamer"] = rss
                row["backfill sweep"], row["RSS backfiller"] = run_backfiller(base, port)
        finally:
            probe.stop()
            session.close()
            proc.terminate()
            proc.wait(30)


def run_backfiller(base, port):
    """A sweep with nothing to fetch: this archive's own restreamer as the peer."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backfiller", "--base-dir", base, "--node",
         f"http://127.0.0.1:{port}", "--localhost", "bench-self", "--run-once",
         "--metrics-port", "0", "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError("backfiller failed: " + proc.stderr.read().decode(errors="replace"))
    return seconds, usage.ru_maxrss / 1024


COVERAGE_CHILD = """
import json, os, sys, time
from gevent import monkey; monkey.patch_all()
import prometheus_client as prom
from segment_coverage.main import Checker, parse_args
from segment_coverage.metrics import Metrics
from segment_coverage.nodes import NodeList
checker = Checker(parse_args(["--base-dir", sys.argv[1]]), Metrics(prom.CollectorRegistry()),
                  NodeList([]))
times = []
for _ in range(3):
    started = time.monotonic()
    checker.check()
    times.append(time.monotonic() - started)
with open("/proc/self/status") as f:
    hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0]
print(json.dumps({"cold": times[0], "warm": sorted(times[1:])[0], "rss": hwm / 1024}))
"""


def run_coverage(base, row):
    out = subprocess.run([sys.executable, "-c", COVERAGE_CHILD, base], capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    row["coverage cold"], row["coverage warm"] = result["cold"], result["warm"]
    row["RSS coverage"] = result["rss"]


# --- the table -------------------------------------------------------------------------------

COLUMNS = [
    ("live first", "s"), ("live restart", "s"), ("live reload (restart)", "ms"),
    ("probe worst (live)", "ms"), ("fixed 24 h first", "s"), ("fixed 24 h repeat", "ms"),
    ("probe worst (fixed)", "ms"), ("coverage cold", "s"), ("coverage warm", "s"),
    ("backfill sweep", "s"), ("RSS restreamer", "MB"), ("RSS coverage", "MB"),
    ("RSS backfiller", "MB"),
]
HEADINGS = {
    "live first": "live 1st (never served)", "live restart": "live 1st after restart",
    "live reload (restart)": "live reload", "probe worst (live)": "worst probe (live)",
    "fixed 24 h first": "24 h 1st", "fixed 24 h repeat": "24 h repeat",
    "probe worst (fixed)": "worst probe (24 h)", "coverage cold": "coverage cold",
    "coverage warm": "coverage warm", "backfill sweep": "backfill sweep (nothing to fetch)",
    "RSS restreamer": "RSS restreamer", "RSS coverage": "RSS coverage",
    "RSS backfiller": "RSS backfiller",
}


def cell(value, unit):
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "s":
        return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"
    return f"{value:.0f} MB"


def print_table(rows):
    print()
    print("| archive | files | " + " | ".join(HEADINGS[c] for c, _ in COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for name, files, row in rows:
        print(f"| {name} | {files:,} | "
              + " | ".join(cell(row.get(c), unit) for c, unit in COLUMNS) + " |")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", default="1,7,30",
                        help="archive sizes in days, comma-separated (default 1,7,30)")
    parser.add_argument("--cache", default="/tmp/scale-bench",
                        help="where the archive is built once and kept (default %(default)s)")
    parser.add_argument("--reloads", type=int, default=10, help="live reloads per server")
    parser.add_argument("--skip-coverage", action="store_true", help="leave segment_coverage out")
    parser.add_argument("--build-only", action="store_true",
                        help="build (or extend) the cached archive and stop")
    args = parser.parse_args()
    try:
        sizes = sorted({int(d) for d in args.days.split(",")})
    except ValueError:
        parser.error(f"--days wants whole numbers separated by commas, not {args.days!r}")
    if not sizes or sizes[0] < 1:
        parser.error("--days: each size must be at least 1")
    os.makedirs(args.cache, exist_ok=True)
    store = Store(args.cache)
    store.ensure(sizes[-1] * 24)
    if args.build_only:
        return
    rows = []
    # The current mtimes first: setting them all costs a pass over every file.
    for state in sorted(("on time", "late"), key=lambda s: s != store.state):
        store.set_state(state)
        for days in sizes:
            base = store.base(days)
            row = {}
            print(f"{days} day(s), written {state}: restreamer...", flush=True)
            run_restreamer(base, store, args.reloads, row)
            if not args.skip_coverage:
                print(f"{days} day(s), written {state}: segment_coverage...", flush=True)
                run_coverage(base, row)
            rows.append((f"{days} d, {state}", days * 24 * 1800, row))
            print_table(rows[-1:])
    print_table(sorted(rows, key=lambda r: (not r[0].endswith("late"), r[1])))


if __name__ == "__main__":
    main()
