#!/usr/bin/env python3
"""get_best_segments throughput on a synthetic archive, next to a straightforward baseline.

Builds a 24-hour, 2-variant archive of 2-second segments (with duplicates, partials, holes and
junk files) in a temporary directory, plus a 7-day variant made of hour directories that link
to those 24 (segment names hold only MM:SS, so any hour can reuse them). Prints, for 1 h, 24 h
and 7-day ranges, the median time and segments per second of:
  - baseline: list each hour, parse every name with strptime, pick the best per start, walk
    greedily, no cache (what a first implementation does);
  - cold: get_best_segments with an empty cache (first call);
  - warm: get_best_segments again, nothing changed (cache hits).

    .venv/bin/python bench/segments.py [--repeat 5] [--keep DIR]
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta

from common import segments
from common.segments import get_best_segments

START = datetime(2026, 11, 20, 0, 0)
SEG = timedelta(seconds=2)
TOLERANCE = timedelta(milliseconds=10)
HASH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def fake_hash(rng):
    return "".join(rng.choice(HASH_CHARS) for _ in range(42)) + "A"


def build(base, hours=24, variants=("source", "480p")):
    """Write the archive; returns the number of files written."""
    rng = random.Random(42)
    written = 0
    for variant in variants:
        for h in range(hours):
            hour = START + timedelta(hours=h)
            hour_dir = segments.format_hour_path(base, "bench", variant, hour)
            os.makedirs(hour_dir)
            for i in range(1800):
                r = rng.random()
                if r < 0.002:  # hole
                    continue
                start = hour + i * SEG + timedelta(microseconds=rng.randint(0, 3000))
                name = segments.segment_file_name(start, SEG, "full", fake_hash(rng))
                kinds = [name]
                if r < 0.02:  # a duplicate from another node
                    kinds.append(segments.segment_file_name(start, SEG, "partial", fake_hash(rng)))
                if r > 0.995:  # a partial only
                    kinds = [segments.segment_file_name(start, SEG, "partial", fake_hash(rng))]
                for k in kinds:
                    open(os.path.join(hour_dir, k), "w").close()
                    written += 1
            for junk in ("notes.txt", "00:00.000000-2.000-full-bad.ts.tmp"):
                open(os.path.join(hour_dir, junk), "w").close()
    # 7 days of "source": hour directories linking to the 24 real ones
    week = os.path.join(base, "bench", "week")
    os.makedirs(week)
    for h in range(24 * 7):
        hour = START + timedelta(hours=h)
        target = segments.format_hour_path(base, "bench", "source", START + timedelta(hours=h % 24))
        os.symlink(target, os.path.join(week, segments.hour_name(hour)))
    past = time.time() - 3600
    for dirpath, _, _ in os.walk(base):
        os.utime(dirpath, (past, past))
    return written


def baseline(hours_path, start, end):
    """List, strptime every name, best per start, greedy walk; no cache."""
    by_start = {}
    hour = start.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    while hour < end:
        hour_name = hour.strftime("%Y-%m-%dT%H")
        hour_path = os.path.join(hours_path, hour_name)
        hour += timedelta(hours=1)
        if not os.path.isdir(hour_path):
            continue
        for name in os.listdir(hour_path):
            try:
                time_part, duration, type, rest = name.split("-", 3)
                if not rest.endswith(".ts") or type == "temp":
                    continue
                seg_start = datetime.strptime(f"{hour_name}:{time_part}", "%Y-%m-%dT%H:%M:%S.%f")
                seg_duration = timedelta(seconds=float(duration))
            except ValueError:
                continue
            path = os.path.join(hour_path, name)
            candidate = (type == "full", seg_duration, os.path.getsize(path), rest, seg_start,
                         seg_duration, type)
            if seg_start not in by_start or candidate > by_start[seg_start]:
                by_start[seg_start] = candidate
    result, prev_end, prev_partial = [], None, False
    for seg_start in sorted(by_start):
        *_, s, d, type = by_start[seg_start]
        if s >= end:
            break
        if s + d <= start:
            continue
        if prev_end is not None and s < prev_end - TOLERANCE:
            continue
        if prev_end is None or s > prev_end + TOLERANCE or prev_partial:
            result.append(None)
        result.append((s, d, type))
        prev_end, prev_partial = s + d, type != "full"
    return result


def timed(fn, repeat, before=None):
    times = []
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--keep", help="build the archive in DIR and keep it")
    args = parser.parse_args()

    base = args.keep or tempfile.mkdtemp(prefix="bench-segments-")
    try:
        t = time.perf_counter()
        if not os.path.exists(os.path.join(base, "bench")):
            n = build(base)
            print(f"built archive: {n} segment files in {time.perf_counter() - t:.1f} s at {base}")
        # The 7-day range holds 168 hours x ~1800 segments: let the cache hold it for the warm run.
        segments._cache.max_segments = max(segments._cache.max_segments, 400_000)
        cases = [("1 h", "source", timedelta(hours=1)), ("24 h", "source", timedelta(hours=24)),
                 ("7 d", "week", timedelta(days=7))]
        print(f"{'range':>6} {'segments':>9} {'baseline':>10} {'cold':>10} {'warm':>10}"
              f" {'cold x':>7} {'warm x':>8}  segments/s (baseline / cold / warm)")
        for label, variant, length in cases:
            hours_path = os.path.join(base, "bench", variant)
            start, end = START + timedelta(minutes=30) if length < timedelta(hours=2) else START, None
            end = start + length
            repeat = max(1, args.repeat if length <= timedelta(hours=24) else 2)
            base_t, base_out = timed(lambda: baseline(hours_path, start, end), repeat)
            cold_t, out = timed(lambda: get_best_segments(hours_path, start, end), repeat,
                                before=segments._cache.clear)
            get_best_segments(hours_path, start, end)
            warm_t, out = timed(lambda: get_best_segments(hours_path, start, end), repeat)
            n = sum(1 for s in out if s is not None)
            n_base = sum(1 for s in base_out if s is not None)
            if abs(n - n_base) > n // 100:
                print(f"  warning: baseline chose {n_base} segments, get_best_segments {n}",
                      file=sys.stderr)
            print(f"{label:>6} {n:>9} {base_t * 1000:>8.1f}ms {cold_t * 1000:>8.1f}ms"
                  f" {warm_t * 1000:>8.2f}ms {base_t / cold_t:>6.1f}x {base_t / warm_t:>7.1f}x"
                  f"  {n / base_t:,.0f} / {n / cold_t:,.0f} / {n / warm_t:,.0f}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
