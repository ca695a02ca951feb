#!/usr/bin/env python3
"""Editor performance.

  - events list (`bench_events_list`): GET /api/events (the page's list: newest first, 100
    events, and with a state filter and a search) with 10,000 events in the table, against a
    real editor (`python -m editor --no-auth`) on a throwaway database of the local Postgres;
    median and p95 over keep-alive requests. Baselines in the same run: GET /api/session
    (a request that reads no events: the fixed cost) and the same lists with the list's indexes
    (event_start order, trigram search) dropped. Target: under 50 ms.
  - first frame (`bench_first_frame`, the page's part): time from opening the edit page to
    the first frame shown. Target: under 1 s.

    .venv/bin/python bench/editor.py [--events 10000] [--repeat 50] [--database DSN]

--database: a server where the bench may create (and drops) its own database; default the
local server (127.0.0.1:5432, user postgres).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import uuid

import psycopg2
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SERVER = "host=127.0.0.1 port=5432 user=postgres"
TARGET_LIST_MS = 50

# 10,000 events over a week of a marathon, most of them done, with words to search in.
FILL_SQL = """
INSERT INTO events (event_start, event_end, category, description, notes, state,
                    upload_location, video_start, video_end, video_title, video_description,
                    video_stream, uploader, video_link, upload_time, editor, edit_time)
SELECT t, t + interval '2 minutes',
       (ARRAY['speedrun', 'chat', 'donation', 'art', 'music'])[1 + i % 5],
       'event ' || i || ' ' || md5(i::text), CASE WHEN i % 7 = 0 THEN 'check audio' ELSE '' END,
       CASE WHEN i % 10 < 8 THEN 'DONE' ELSE 'UNEDITED' END::event_state,
       CASE WHEN i % 10 < 8 THEN 'archive' END,
       CASE WHEN i % 10 < 8 THEN t END, CASE WHEN i % 10 < 8 THEN t + interval '1 minute' END,
       CASE WHEN i % 10 < 8 THEN 'Highlight ' || i END,
       CASE WHEN i % 10 < 8 THEN repeat('words ', 50) END,
       CASE WHEN i % 10 < 8 THEN 'main' END, CASE WHEN i % 10 < 8 THEN 'node-a' END,
       CASE WHEN i % 10 < 8 THEN 'https://videos.example/' || i END,
       CASE WHEN i % 10 < 8 THEN t + interval '1 hour' END,
       CASE WHEN i % 10 < 8 THEN 'editor' || i % 20 END,
       CASE WHEN i % 10 < 8 THEN t END
FROM (SELECT i, timestamp '2026-11-20' + i * interval '1 minute' AS t
      FROM generate_series(1, {count}) AS i) AS s
"""


def ms(seconds):
    return f"{seconds * 1000:6.1f} ms"


class ThrowawayDatabase:
    def __init__(self, server_dsn):
        self.server_dsn = server_dsn
        self.name = "bench_editor_" + uuid.uuid4().hex[:10]
        self.dsn = f"{server_dsn} dbname={self.name}"

    def __enter__(self):
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc):
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, sql):
        conn = psycopg2.connect(self.server_dsn + " dbname=postgres")
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def execute(self, sql):
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()


def start_editor(dsn):
    """python -m editor --no-auth on a free loopback port -> (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "editor", "--database", dsn, "--no-auth", "--host", "127.0.0.1",
         "--port", "0", "--restreamer-url", "http://127.0.0.1:1", "--location", "archive",
         "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # At WARNING the start-up line is not logged: find the port the process listens on.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the editor exited: " + proc.stderr.read())
        port = _listening_port(proc.pid)
        if port:
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the editor did not start within 60 s")


def _listening_port(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            inodes.add(match.group(1))
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                return int(fields[1].split(":")[1], 16)
    return None


def timed(session, url, repeat):
    """Median and p95 of `repeat` GETs on one keep-alive connection (after one warm-up)."""
    session.get(url).raise_for_status()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = session.get(url)
        times.append(time.perf_counter() - t)
        response.raise_for_status()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def bench_events_list(server_dsn=DEFAULT_SERVER, count=10000, repeat=50):
    """GET /api/events latency with `count` events in the table; prints and returns the
    median of the default list in seconds."""
    print(f"events list: {count:,} events, {repeat} requests each (median, p95)")
    with ThrowawayDatabase(server_dsn) as db:
        proc, url = start_editor(db.dsn)  # applies the schema
        try:
            t = time.perf_counter()
            db.execute(FILL_SQL.format(count=int(count)))
            db.execute("ANALYZE events")
            print(f"  filled in {time.perf_counter() - t:.1f} s")
            session = requests.Session()
            cases = [("newest 100", "/api/events"),
                     ("state=UNEDITED", "/api/events?state=UNEDITED"),
                     ("q=check audio", "/api/events?q=check%20audio"),
                     ("q matching nothing", "/api/events?q=nothing-has-this"),
                     ("limit=1000", "/api/events?limit=1000")]
            base, _ = timed(session, url + "/api/session", repeat)
            print(f"  {'baseline: GET /api/session':32} median {ms(base)}")
            results = {}
            for name, path in cases:
                median, p95 = timed(session, url + path, repeat)
                results[name] = median
                verdict = "" if name == "limit=1000" else \
                    ("  ok" if median * 1000 < TARGET_LIST_MS else "  OVER TARGET")
                print(f"  {name:32} median {ms(median)}  p95 {ms(p95)}{verdict}")
            db.execute("DROP INDEX events_by_start; DROP INDEX IF EXISTS events_text_search")
            db.execute("ANALYZE events")
            for name, path in cases[:4]:
                median, _ = timed(session, url + path, repeat)
                print(f"  {'baseline, no index: ' + name:32} median {ms(median)}"
                      f"  -> {median / results[name]:4.1f}x slower")
            return results["newest 100"]
        finally:
            proc.terminate()
            proc.wait(30)


def bench_first_frame():
    """The page's part (time to first frame of the edit page)."""
    print("first frame: not measured yet")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database", default=DEFAULT_SERVER,
                        help="libpq key=value DSN of a server (no dbname)")
    args = parser.parse_args()
    bench_events_list(args.database, args.events, args.repeat)
    bench_first_frame()


if __name__ == "__main__":
    main()
