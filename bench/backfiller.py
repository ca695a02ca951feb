#!/usr/bin/env python3
"""Backfill convergence: how fast one `python -m backfiller --run-once` copies 5,000 missing
segments from a real restreamer, next to baselines measured in the same run.

Builds a peer archive of --segments + --held segments (random bytes, --size-kb each, one
stream and variant, spanning several hours) and a local archive holding only --held of them,
serves the peer with `python -m restreamer`, then per run (fresh local archive each time):
  - backfiller: `python -m backfiller --run-once` (hash-verified, temp -> fsync -> rename,
    --concurrency downloads at once);
  - naive: one keep-alive requests.Session fetching each missing file in turn and writing it
    straight to its final name (no verification, no fsync): what a first script would do;
  - copy: shutil.copyfile of the same files on the local disk (the I/O floor, no HTTP).
Prints medians of wall time, segments/s and MB/s, the backfiller's CPU time per segment (its
own process) and the restreamer's CPU per segment served, ratios against the baselines, and
the time of a --run-once when nothing is missing (the steady-state cost of a sweep).

    .venv/bin/python bench/backfiller.py [--segments 5000] [--size-kb 250] [--runs 3]
"""

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import requests

from common.dateutil import utcnow
from common.segments import format_segment_path, hash_name

STREAM, VARIANT = "bench", "source"
SEG = timedelta(seconds=2)
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(base, count, size):
    """Write `count` consecutive segments of `size` random bytes; returns their paths."""
    start = (utcnow() - timedelta(days=1)).replace(
        minute=0, second=0, microsecond=0)
    paths = []
    for i in range(count):
        data = os.urandom(size)
        path = format_segment_path(base, STREAM, VARIANT, start + i * SEG, SEG, "full",
                                   hash_name(hashlib.sha256(data).digest()))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


def build_names_only(base, hours):
    """`hours` full hours of empty files with well-formed names (for the converged sweep)."""
    start = (utcnow() - timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0)
    for i in range(hours * 1800):
        digest = hashlib.sha256(i.to_bytes(8, "big")).digest()
        path = format_segment_path(base, STREAM, VARIANT, start + i * SEG, SEG, "full",
                                   hash_name(digest))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()


def reset_local(local, peer, held):
    """A fresh local archive holding `held` (hard links to the peer's files)."""
    shutil.rmtree(local, ignore_errors=True)
    for path in held:
        target = os.path.join(local, os.path.relpath(path, peer))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(path, target)


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run_backfiller(local, url, concurrency, check=True):
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "backfiller", "--base-dir", local,
                             "--node", url, "--run-once", "--recent-cutoff", "0",
                             "--concurrency", str(concurrency), "--log-level", "WARNING"],
                            stderr=None if check else subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if check and proc.returncode != 0:
        raise SystemExit(f"backfiller exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def run_naive(local, url):
    session = requests.Session()
    started = time.monotonic()
    for hour in session.get(f"{url}/files/{STREAM}/{VARIANT}").json():
        os.makedirs(os.path.join(local, STREAM, VARIANT, hour), exist_ok=True)
        have = set(os.listdir(os.path.join(local, STREAM, VARIANT, hour)))
        for name in session.get(f"{url}/files/{STREAM}/{VARIANT}/{hour}").json():
            if name in have:
                continue
            body = session.get(f"{url}/segments/{STREAM}/{VARIANT}/{hour}/{name}").content
            with open(os.path.join(local, STREAM, VARIANT, hour, name), "wb") as f:
                f.write(body)
    return time.monotonic() - started


def run_copy(local, missing, peer):
    started = time.monotonic()
    for path in missing:
        target = os.path.join(local, os.path.relpath(path, peer))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)
    return time.monotonic() - started


def check_converged(local, peer, paths):
    for path in paths:
        if not os.path.exists(os.path.join(local, os.path.relpath(path, peer))):
            raise SystemExit(f"not converged: {path} missing locally")


def converged_sweep(root, hours, runs):
    """Median (wall, CPU, start-up wall) of --run-once where both nodes hold the same names."""
    peer, local = os.path.join(root, "sweep-peer"), os.path.join(root, "sweep-local")
    empty = os.path.join(root, "sweep-empty")
    print(f"building {hours} hours of names for the converged sweep ...", flush=True)
    build_names_only(peer, hours)
    shutil.copytree(peer, local, copy_function=os.link)
    os.makedirs(empty, exist_ok=True)
    port = free_port()
    restreamer = subprocess.Popen([sys.executable, "-m", "restreamer", "--base-dir", peer,
                                   "--host", "127.0.0.1", "--port", str(port),
                                   "--log-level", "WARNING"])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url)
        results = [run_backfiller(local, url, 5) for _ in range(runs)]
        # The same process against a peer with nothing: start-up and one empty listing.
        startup = [run_backfiller(empty, url + "/nothing", 5, check=False)[0]
                   for _ in range(runs)]
    finally:
        restreamer.terminate()
        restreamer.wait()
    return (statistics.median(w for w, _ in results), statistics.median(c for _, c in results),
            statistics.median(startup))


def wait_for(url):
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/files", timeout=1)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise SystemExit("restreamer did not start")
            time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=5000, help="segments the local node lacks")
    parser.add_argument("--held", type=int, default=500, help="segments both nodes hold")
    parser.add_argument("--size-kb", type=int, default=250, help="size of each segment")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep it")
    parser.add_argument("--sweep-hours", type=int, default=24,
                        help="hours of 1,800 segments for the converged-sweep figure (0: skip)")
    args = parser.parse_args()

    root = args.keep or tempfile.mkdtemp(prefix="bench-backfiller-")
    peer, local = os.path.join(root, "peer"), os.path.join(root, "local")
    total = args.segments + args.held
    print(f"building {total} segments of {args.size_kb} KB in {root} ...", flush=True)
    shutil.rmtree(peer, ignore_errors=True)
    paths = build(peer, total, args.size_kb * 1024)
    step = total / args.held if args.held else 0
    held_idx = {int(i * step) for i in range(args.held)}
    held = [p for i, p in enumerate(paths) if i in held_idx]
    missing = [p for i, p in enumerate(paths) if i not in held_idx]
    hours = len({os.path.basename(os.path.dirname(p)) for p in paths})
    print(f"peer: {total} segments over {hours} hours; local lacks {len(missing)}")

    port = free_port()
    restreamer = subprocess.Popen([sys.executable, "-m", "restreamer", "--base-dir", peer,
                                   "--host", "127.0.0.1", "--port", str(port),
                                   "--log-level", "WARNING"])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url)
        figures = {"backfiller": [], "naive": [], "copy": []}
        cpu, peer_cpu = [], []
        for run in range(args.runs):
            reset_local(local, peer, held)
            before = proc_cpu(restreamer.pid)
            wall, used = run_backfiller(local, url, args.concurrency)
            peer_cpu.append(proc_cpu(restreamer.pid) - before)
            check_converged(local, peer, paths)
            figures["backfiller"].append(wall)
            cpu.append(used)
            reset_local(local, peer, held)
            figures["naive"].append(run_naive(local, url))
            check_converged(local, peer, paths)
            reset_local(local, peer, held)
            figures["copy"].append(run_copy(local, missing, peer))
            print(f"run {run + 1}: backfiller {wall:.2f}s, naive {figures['naive'][-1]:.2f}s, "
                  f"copy {figures['copy'][-1]:.2f}s", flush=True)
        # Nothing missing: the cost of a sweep over converged hours (listings + selection).
        noop = [run_backfiller(local, url, args.concurrency) for _ in range(args.runs)]
    finally:
        restreamer.terminate()
        restreamer.wait()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    sweep = converged_sweep(root, args.sweep_hours, args.runs) if args.sweep_hours else None

    n, mb = len(missing), len(missing) * args.size_kb / 1024
    print(f"\n{n} segments ({mb:.0f} MB), median of {args.runs} runs, "
          f"concurrency {args.concurrency}:")
    for name, walls in figures.items():
        wall = statistics.median(walls)
        print(f"  {name:<10} {wall:7.2f} s  {n / wall:8.0f} segments/s  {mb / wall:7.1f} MB/s")
    median = {name: statistics.median(walls) for name, walls in figures.items()}
    print(f"  backfiller CPU: {statistics.median(cpu) / n * 1000:.3f} ms per segment "
          f"(its own process); restreamer CPU: {statistics.median(peer_cpu) / n * 1000:.3f} "
          f"ms per segment served")
    noop_wall = statistics.median(w for w, _ in noop)
    print(f"  converged --run-once (nothing to fetch, {hours} hours of {total // hours} "
          f"segments, process start included): {noop_wall:.2f} s, "
          f"CPU {statistics.median(c for _, c in noop):.2f} s")
    if sweep:
        wall, used, startup = sweep
        print(f"  converged sweep of {args.sweep_hours} hours x 1800 segments: {wall:.2f} s "
              f"(process start-up alone {startup:.2f} s), "
              f"{(wall - startup) / args.sweep_hours * 1000:.1f} ms per hour; "
              f"backfiller CPU {used:.2f} s")
    print(f"  backfiller / naive wall time: {median['backfiller'] / median['naive']:.2f}x; "
          f"backfiller / copy: {median['backfiller'] / median['copy']:.2f}x")


if __name__ == "__main__":
    main()
