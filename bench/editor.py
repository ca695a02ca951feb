#!/usr/bin/env python3
"""Editor performance.

  - events list (`bench_events_list`): GET /api/events (the page's list: newest first, 100
    events, and with a state filter and a search) with 10,000 events in the table, against a
    real editor (`python -m editor --no-auth`) on a throwaway database of the local Postgres;
    median and p95 over keep-alive requests. Baselines in the same run: GET /api/session
    (a request that reads no events: the fixed cost) and the same lists with the list's indexes
    (event_start order, trigram search) dropped. Target: under 50 ms.
  - first frame (`bench_first_frame`, the page's part): the time from opening an event's edit
    page to its first video frame on screen, in headless Chromium (Debian's, driven by
    Playwright), against `python -m restreamer` on a real-video archive
    (tests/support/archive.py) and `python -m editor --no-auth`. Each run:
    - cold: a new browser context (nothing cached) loads /#/events/ID; the time is the page's
      own performance mark `editor:first-frame` (set on the first requestVideoFrameCallback),
      from navigation start;
    - from the list: in the app, from the events list to the event (the hash changes) to its
      first frame: what an editor waits for when opening one event after another.
    The same two for a stream whose sound is a separate audio rendition
    (support.archive.build_separate_audio_archive): the page plays it from the restreamer's
    master playlist (picture and sound), after asking for the variant's variant.json.
    The page also marks where the time goes (`editor:event-loaded`, `editor:player-start`,
    `editor:playlist-loaded`, `editor:first-fragment-loaded`, `editor:first-fragment-buffered`);
    their medians are printed. Baseline in the same run: a bare page that only loads hls.js
    (same settings) and plays the same playlist: what hls.js and the servers need in any case.
    Target: under 1 s.

    .venv/bin/python bench/editor.py [--events 10000] [--repeat 50] [--runs 7]
                                     [--database DSN] [--only list|first-frame]

--database: a server where the bench may create (and drops) its own database; default the
local server (127.0.0.1:5432, user postgres).
"""

import argparse
import http.server
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta

import psycopg2
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from support.archive import build_archive, build_separate_audio_archive  # noqa: E402
from support.browser import chromium, new_page  # noqa: E402
from support.waiting import wait_for  # noqa: E402

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


# First-frame part: a minute of real video from T0.
T0 = datetime(2026, 11, 20, 12, 0, 0)
STREAM, VARIANT = "bench", "source"
AUDIO_STREAM = "bench-audio"  # its source variant's sound is the rendition audio-en
# The edit page's performance marks, in order (the last is the first frame on screen).
MARKS = ("editor:event-loaded", "editor:player-start", "editor:playlist-loaded",
         "editor:first-fragment-loaded", "editor:first-fragment-buffered", "editor:first-frame")
BARE_PAGE = """<!doctype html><html><body><video muted></video>
<script src="{editor}/static/vendor/hls.js/hls.min.js"></script>
<script>
const video = document.querySelector("video");
video.requestVideoFrameCallback(() => performance.mark("editor:first-frame"));
const hls = new Hls({{ startPosition: 0, enableWorker: false }});
hls.loadSource("{playlist}");
hls.attachMedia(video);
</script></body></html>"""

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


def start_editor(dsn, restreamer_url="http://127.0.0.1:1"):
    """python -m editor --no-auth on a free loopback port -> (process, base URL)."""
    return start_service("editor", "--database", dsn, "--no-auth", "--restreamer-url",
                         restreamer_url, "--location", "archive")


def start_service(name, *flags):
    """python -m NAME --host 127.0.0.1 --port 0 FLAGS -> (process, base URL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", name, *flags, "--host", "127.0.0.1", "--port", "0",
         "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # At WARNING the start-up line is not logged: find the port the process listens on.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: " + proc.stderr.read())
        port = _listening_port(proc.pid)
        if port:
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{name} did not start within 60 s")


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


def median_ms(values):
    return f"{statistics.median(values) * 1000:6.0f} ms" if values else "     — "


def marks(page):
    got = page.evaluate("(names) => names.map((n) => { const e = performance.getEntriesByName(n);"
                        " return e.length ? e[0].startTime / 1000 : null; })", list(MARKS))
    return dict(zip(MARKS, got))


def bench_first_frame(server_dsn=DEFAULT_SERVER, runs=7):
    """Open the edit page `runs` times cold and `runs` times from the list; print medians."""
    base = tempfile.mkdtemp(prefix="bench-editor-")
    procs = []
    try:
        build_archive(os.path.join(base, "segments"), STREAM, VARIANT, T0, 60)
        build_separate_audio_archive(os.path.join(base, "segments"), AUDIO_STREAM, VARIANT, T0, 30)
        proc, restreamer = start_service("restreamer", "--base-dir",
                                         os.path.join(base, "segments"))
        procs.append(proc)
        with ThrowawayDatabase(server_dsn) as db:
            proc, editor = start_editor(db.dsn, restreamer)
            procs.append(proc)
            api = requests.Session()
            csrf = api.get(editor + "/api/session").json()["csrf"]
            wait_for(lambda: api.get(editor + "/api/config").json()["streams"], timeout=40,
                     message="the editor to list the restreamer's streams")
            start_at = T0 + timedelta(seconds=30)
            event = api.post(editor + "/api/events", headers={"X-CSRF-Token": csrf}, json={
                "event_start": start_at.isoformat() + "Z",
                "event_end": (start_at + timedelta(seconds=20)).isoformat() + "Z"}).json()
            audio_event = api.post(editor + "/api/events", headers={"X-CSRF-Token": csrf}, json={
                "event_start": start_at.isoformat() + "Z",
                "event_end": (start_at + timedelta(seconds=20)).isoformat() + "Z"}).json()
            api.put(f"{editor}/api/events/{audio_event['id']}", headers={"X-CSRF-Token": csrf},
                    json={"version": audio_event["version"], "video_stream": AUDIO_STREAM,
                          "video_variant": VARIANT}).raise_for_status()
            window = (f"start={(start_at - timedelta(minutes=1)).isoformat()}Z"
                      f"&end={(start_at + timedelta(seconds=80)).isoformat()}Z")
            playlist = f"{restreamer}/playlist/{STREAM}/{VARIANT}.m3u8?{window}"
            with chromium() as browser:
                results = measure(browser, editor, event["id"], audio_event["id"], playlist,
                                  runs)
            for proc in procs:
                proc.terminate()
                proc.wait(30)
        report(results, runs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def serve_page(html):
    """Serve one HTML page on loopback (Chromium lets only a loopback page load loopback
    resources); -> its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/"


def open_cold(browser, editor, event_id):
    page = new_page(browser)
    page.goto(f"{editor}/#/events/{event_id}")
    page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
    return page, marks(page)


def open_from_list(page, editor, event_id):
    """From the events list to the event's first frame, in the app -> marks from the click."""
    page.goto(f"{editor}/#/events")
    page.wait_for_selector("table.events tbody tr")
    page.evaluate("performance.clearMarks(); performance.mark('bench:open')")
    page.evaluate(f"location.hash = '#/events/{event_id}'")
    page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
    opened = page.evaluate("performance.getEntriesByName('bench:open')[0].startTime / 1000")
    return {k: (v - opened if v is not None else None) for k, v in marks(page).items()}


def measure(browser, editor, event_id, audio_event_id, playlist, runs):
    results = {"cold": [], "app": [], "audio-cold": [], "audio-app": [], "bare": []}
    bare_url = serve_page(BARE_PAGE.format(editor=editor, playlist=playlist))
    for _ in range(runs):
        for key, event in (("", event_id), ("audio-", audio_event_id)):
            page, cold = open_cold(browser, editor, event)
            results[key + "cold"].append(cold)
            results[key + "app"].append(open_from_list(page, editor, event))
            page.context.close()

        page = new_page(browser)
        page.goto(bare_url)
        page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
        results["bare"].append(marks(page))
        page.context.close()
    return results


def report(results, runs):
    print(f"edit page: time to the first video frame, median of {runs} runs"
          " (target: under 1 s)")
    labels = {"cold": "opened cold (new browser context)",
              "app": "opened from the events list",
              "audio-cold": "separate audio, opened cold",
              "audio-app": "separate audio, opened from the list",
              "bare": "baseline: bare hls.js page, same playlist"}
    for key, label in labels.items():
        frames = [r["editor:first-frame"] for r in results[key]]
        print(f"  {label:<42} {median_ms(frames)}  (min {min(frames) * 1000:.0f},"
              f" max {max(frames) * 1000:.0f} ms)")
    print("  where the time goes (median, from the start of each measurement):")
    for key in ("cold", "app", "audio-cold", "audio-app"):
        parts = []
        for name in MARKS[:-1]:
            values = [r[name] for r in results[key] if r[name] is not None]
            parts.append(f"{name.split(':')[1]} {median_ms(values).strip()}")
        print(f"    {key:<10} " + ", ".join(parts))
    cold = statistics.median(r["editor:first-frame"] for r in results["cold"])
    bare = statistics.median(r["editor:first-frame"] for r in results["bare"])
    print(f"  cold page vs bare hls.js: {cold / bare:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7, help="edit page openings per measurement")
    parser.add_argument("--database", default=DEFAULT_SERVER,
                        help="libpq key=value DSN of a server (no dbname)")
    parser.add_argument("--only", choices=["list", "first-frame"], help="run one part")
    args = parser.parse_args()
    if args.only != "first-frame":
        bench_events_list(args.database, args.events, args.repeat)
    if args.only != "list":
        bench_first_frame(args.database, args.runs)


if __name__ == "__main__":
    main()
