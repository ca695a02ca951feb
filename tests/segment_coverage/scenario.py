"""A synthetic archive whose holes, partials, duplicates and overlaps are known exactly.

Stream "s", variant "v"; NOW = 2026-01-01T02:40:00 (so hour 02 is the current hour, examined up
to 02:39:30 with the 30 s live margin, and hour 01 is the previous hour).

Hour 00 (closed): 2 s segments at every even second, except
  - no segment at 100, 102 and 1000 s          -> 2 holes, 6 s
  - 200 s is partial, 500 s is suspect           -> 2 partials chosen
  - 300 s has three files: two fulls with different bytes and a partial  -> 2 duplicates
  - an extra full at 401 s overlaps the one at 400 s by 1 s              -> 1 overlap, 1 s
  - a temp file at 3590 s, and two names that do not parse
Hour 01 (previous): nothing for its first half (1 hole, 1800 s); fulls from 1800 s, the last
  (at 3598 s) 2.5 s long, so it runs 0.5 s into hour 02.
Hour 02 (current): fulls at 0.5 s + 2k for k < 300 (up to 600.5 s), then nothing: one hole
  from 600.5 s to the live margin at 2370 s.
"""

import os
from datetime import datetime, timedelta

from support.archive import write_segment

STREAM, VARIANT = "s", "v"
H0 = datetime(2026, 1, 1, 0)
H1, H2 = H0 + timedelta(hours=1), H0 + timedelta(hours=2)
NOW = datetime(2026, 1, 1, 2, 40)
S = timedelta(seconds=1)
TWO = 2 * S


def _data(tag):
    return f"segment {tag}".encode() * 20


def build(base):
    write = lambda start, data, type="full", duration=TWO: write_segment(  # noqa: E731
        base, STREAM, VARIANT, start, duration, data, type)
    # hour 00
    for t in range(0, 3600, 2):
        if t in (100, 102, 1000):
            continue
        type = {200: "partial", 500: "suspect"}.get(t, "full")
        write(H0 + t * S, _data(f"0/{t}"), type)
    write(H0 + 300 * S, _data("0/300/b") + b"longer")  # a second full at 300 s
    write(H0 + 300 * S, _data("0/300/c"), "partial")
    write(H0 + 401 * S, _data("0/401"))
    hour_dir = os.path.join(base, STREAM, VARIANT, "2026-01-01T00")
    open(os.path.join(hour_dir, "59:50.000000-2.000-temp-abc123.ts"), "wb").close()
    open(os.path.join(hour_dir, "junk.txt"), "wb").close()
    open(os.path.join(hour_dir, "12:00.000000-2.000-full-nothash.ts"), "wb").close()
    # hour 01
    for t in range(1800, 3598, 2):
        write(H1 + t * S, _data(f"1/{t}"))
    write(H1 + 3598 * S, _data("1/3598"), duration=timedelta(seconds=2.5))
    # hour 02
    for k in range(300):
        write(H2 + timedelta(seconds=0.5) + k * TWO, _data(f"2/{k}"))


def age_directories(base, seconds=3600):
    """Set the hour directories' mtimes in the past, as if nothing had changed for a while."""
    variant_dir = os.path.join(base, STREAM, VARIANT)
    old = os.stat(variant_dir).st_mtime - seconds
    for name in os.listdir(variant_dir):
        os.utime(os.path.join(variant_dir, name), (old, old))
