#!/usr/bin/env python3
"""Editor performance, as an editor feels it.

first frame: the time from opening an event's edit page to its first video frame on screen, in
  headless Chromium (Debian's, driven by Playwright), against real processes: `python -m
  restreamer` on a real-video archive (tests/support/archive.py) and `python -m editor
  --no-auth` on a throwaway Postgres database. Each run:
  - cold: a new browser context (nothing cached, no session) loads /#/events/ID; the time is
    the page's own performance mark `editor:first-frame` (set on the first
    requestVideoFrameCallback), measured from navigation start;
  - in the app: from the events list, a click-equivalent (the hash changes to the event) to
    the first frame: what an editor waits for when opening one event after another.
  The page also marks where the time goes (`editor:player-start`, `editor:playlist-loaded`,
  `editor:first-fragment-loaded`, `editor:first-fragment-buffered`); their medians are printed.
  Baseline, in the same run: a bare page that only loads hls.js and plays the same playlist
  (no session, config or event requests): what hls.js and the servers need in any case.
  Target: under 1 s on the 2-core development machine.

    .venv/bin/python bench/editor.py [--runs 7]
"""

import argparse
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from support.archive import build_archive  # noqa: E402
from support.browser import chromium, new_page  # noqa: E402
from support.postgres import PostgresServer, throwaway_database  # noqa: E402
from support.waiting import free_port, wait_for  # noqa: E402

T0 = datetime(2026, 11, 20, 12, 0, 0)
STREAM, VARIANT = "bench", "source"
MARKS = ("editor:event-loaded", "editor:player-start", "editor:playlist-loaded", "editor:first-fragment-loaded",
         "editor:first-fragment-buffered", "editor:first-frame")
BARE_PAGE = """<!doctype html><html><body><video muted></video>
<script src="{editor}/static/vendor/hls.js/hls.min.js"></script>
<script>
const video = document.querySelector("video");
video.requestVideoFrameCallback(() => performance.mark("editor:first-frame"));
const hls = new Hls({{ startPosition: 0, enableWorker: false }});
hls.loadSource("{playlist}");
hls.attachMedia(video);
</script></body></html>"""


def start(args, ready_url):
    proc = subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)

    def up():
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            return requests.get(ready_url, timeout=2).ok
        except requests.ConnectionError:
            return False

    wait_for(up, timeout=30, message=f"{args[0]} to answer")
    return proc


def median_ms(values):
    return f"{statistics.median(values) * 1000:6.0f} ms" if values else "     — "


def marks(page):
    got = page.evaluate("(names) => names.map((n) => { const e = performance.getEntriesByName(n);"
                        " return e.length ? e[0].startTime / 1000 : null; })", list(MARKS))
    return dict(zip(MARKS, got))


def first_frame(runs):
    """Open the edit page `runs` times cold and `runs` times in the app; print medians."""
    base = tempfile.mkdtemp(prefix="bench-editor-")
    server = PostgresServer.find_or_start()
    procs = []
    try:
        build_archive(os.path.join(base, "segments"), STREAM, VARIANT, T0, 60)
        restreamer_port, editor_port = free_port(), free_port()
        restreamer = f"http://127.0.0.1:{restreamer_port}"
        editor = f"http://127.0.0.1:{editor_port}"
        procs.append(start(["restreamer", "--base-dir", os.path.join(base, "segments"),
                            "--host", "127.0.0.1", "--port", str(restreamer_port)],
                           restreamer + "/files"))
        with throwaway_database(server) as dsn:
            procs.append(start(["editor", "--database", dsn, "--restreamer-url", restreamer,
                                "--location", "bench", "--host", "127.0.0.1", "--port",
                                str(editor_port), "--no-auth"], editor + "/api/session"))
            api = requests.Session()
            csrf = api.get(editor + "/api/session").json()["csrf"]
            wait_for(lambda: api.get(editor + "/api/config").json()["streams"], timeout=40,
                     message="the editor to list the restreamer's streams")
            start_at = T0 + timedelta(seconds=30)
            event = api.post(editor + "/api/events", headers={"X-CSRF-Token": csrf}, json={
                "event_start": start_at.isoformat() + "Z",
                "event_end": (start_at + timedelta(seconds=20)).isoformat() + "Z"}).json()
            window = (f"start={(start_at - timedelta(minutes=1)).isoformat()}Z"
                      f"&end={(start_at + timedelta(seconds=80)).isoformat()}Z")
            playlist = f"{restreamer}/playlist/{STREAM}/{VARIANT}.m3u8?{window}"
            with chromium() as browser:
                results = measure(browser, editor, event["id"], playlist, runs)
        report(results, runs)
    finally:
        for proc in procs:
            proc.terminate()
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


def measure(browser, editor, event_id, playlist, runs):
    results = {"cold": [], "app": [], "bare": []}
    bare_url = serve_page(BARE_PAGE.format(editor=editor, playlist=playlist))
    for _ in range(runs):
        page = new_page(browser)
        page.goto(f"{editor}/#/events/{event_id}")
        page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
        results["cold"].append(marks(page))

        page.goto(f"{editor}/#/events")
        page.wait_for_selector("table.events tbody tr")
        page.evaluate("performance.clearMarks(); performance.mark('bench:open')")
        page.evaluate(f"location.hash = '#/events/{event_id}'")
        page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
        opened = page.evaluate("performance.getEntriesByName('bench:open')[0].startTime / 1000")
        results["app"].append({k: (v - opened if v is not None else None)
                               for k, v in marks(page).items()})
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
              "bare": "baseline: bare hls.js page, same playlist"}
    for key, label in labels.items():
        frames = [r["editor:first-frame"] for r in results[key]]
        print(f"  {label:<42} {median_ms(frames)}  (min {min(frames) * 1000:.0f},"
              f" max {max(frames) * 1000:.0f} ms)")
    print("  where the time goes (median, from the start of each measurement):")
    for key in ("cold", "app"):
        parts = []
        for name in MARKS[:-1]:
            values = [r[name] for r in results[key] if r[name] is not None]
            parts.append(f"{name.split(':')[1]} {median_ms(values).strip()}")
        print(f"    {key:<5} " + ", ".join(parts))
    cold = statistics.median(r["editor:first-frame"] for r in results["cold"])
    bare = statistics.median(r["editor:first-frame"] for r in results["bare"])
    print(f"  cold page vs bare hls.js: {cold / bare:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="page openings per measurement")
    args = parser.parse_args()
    t = time.perf_counter()
    first_frame(args.runs)
    print(f"(took {time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
