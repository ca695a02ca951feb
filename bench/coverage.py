#!/usr/bin/env python3
"""Time of one segment_coverage check on a synthetic 24-hour archive, cold and warm.

Builds 24 closed hours plus 10 minutes of the current hour of 2-second segments (empty files
with valid names; a few holes, partials and duplicates) in a temporary directory, then prints
the median time of:
  - baseline: one get_best_segments call over the whole range, with a cold cache (the
    selection work a check cannot avoid on a first scan);
  - cold check: a new Scanner (and a cleared get_best_segments cache): every hour scanned,
    maps and summaries rendered and written;
  - warm check: the same Scanner again with nothing changed: only the open hour is scanned;
  - render: the PNG map of 48 hours alone.

    .venv/bin/python bench/coverage.py [--repeat 5] [--hours 24]
"""

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta

import prometheus_client as prom

from common import segments
from common.segments import format_segment_path, get_best_segments
from segment_coverage.coverage_map import render_map
from segment_coverage.main import Checker, parse_args
from segment_coverage.metrics import Metrics
from segment_coverage.nodes import NodeList
from segment_coverage.pixels import FULL, PIXELS_PER_HOUR
from segment_coverage.scan import Scanner

START = datetime(2026, 11, 20)
SEG = timedelta(seconds=2)
HASH_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def fake_hash(rng):
    return "".join(rng.choice(HASH_CHARS) for _ in range(42)) + "A"


def build(base, hours):
    rng = random.Random(1)
    count = 0
    total = hours * 1800 + 300
    for i in range(total):
        if rng.random() < 0.002:
            continue  # a hole
        start = START + i * SEG
        types = ["full"]
        if rng.random() < 0.01:
            types = ["partial"]
        elif rng.random() < 0.01:
            types.append("partial")  # a duplicate
        for type in types:
            path = format_segment_path(base, "demo", "source", start, SEG, type, fake_hash(rng))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "wb").close()
            count += 1
    # age the directories so that the closed hours settle
    old = time.time() - 3600
    variant_dir = os.path.join(base, "demo", "source")
    for name in os.listdir(variant_dir):
        os.utime(os.path.join(variant_dir, name), (old, old))
    return count


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="coverage-bench-")
    try:
        count = build(base, args.hours)
        now = START + timedelta(hours=args.hours, minutes=10, seconds=30)
        print(f"archive: {count} files in {args.hours} closed hours + 10 minutes")

        def baseline():
            segments._cache.clear()
            get_best_segments(os.path.join(base, "demo", "source"), START, now)

        check_args = parse_args(["--base-dir", base, "--map-hours", "48"])

        def checker():
            return Checker(check_args, Metrics(prom.CollectorRegistry()), NodeList([]),
                           Scanner(base))

        def cold():
            segments._cache.clear()
            checker().check(now=now)

        warm_checker = checker()
        warm_checker.check(now=now)

        def warm():
            warm_checker.check(now=now)

        rows = [(START + timedelta(hours=h), bytes([FULL]) * PIXELS_PER_HOUR) for h in range(48)]
        results = {
            "baseline (get_best_segments, whole range, cold)": median_time(baseline, args.repeat),
            "cold check": median_time(cold, args.repeat),
            "warm check": median_time(warm, args.repeat),
            "render 48-hour map": median_time(lambda: render_map("t", rows), args.repeat),
        }
        base_time = results["baseline (get_best_segments, whole range, cold)"]
        for name, seconds in results.items():
            print(f"{name:50s} median {seconds * 1000:8.1f} ms  "
                  f"({seconds / base_time:5.2f}x baseline)")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
