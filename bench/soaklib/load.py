"""The soak's load: HLS players polling each restreamer's live playlist (checking that every
reload only appends), and an editor submitting an event every 20 s over recent footage."""

import itertools
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import requests

CUT_TYPES = ("rough", "fast", "full")
HISTORY = 400  # sequence numbers a player remembers (bounded, like a player's buffer)


def parse_live_playlist(text):
    """(media sequence, [uri]) of a live media playlist."""
    sequence, uris = 0, []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line and not line.startswith("#"):
            uris.append(line)
    return sequence, uris


def check_reload(seen, sequence, uris):
    """Problems with a reload against `seen` ({seq: uri}, updated): a listed number whose
    segment changed, or a media sequence that went back."""
    problems = []
    newest = max(seen, default=None)
    if newest is not None and sequence + len(uris) - 1 < newest:
        problems.append(f"playlist went back: ends at {sequence + len(uris) - 1}, "
                        f"had listed {newest}")
    for seq, uri in enumerate(uris, sequence):
        if seen.get(seq, uri) != uri:
            problems.append(f"segment {seq} changed from {seen[seq]} to {uri}")
        seen[seq] = uri
    for seq in sorted(seen)[:-HISTORY]:
        del seen[seq]
    return problems


class Player(threading.Thread):
    """One viewer of a live playlist: reloads every `interval` and fetches new segments."""

    def __init__(self, name, playlist_url, stopping, interval=2.0):
        super().__init__(daemon=True, name=name)
        self.url, self.stopping, self.interval = playlist_url, stopping, interval
        self.seen = {}
        self.reloads = self.segments = self.bytes = 0
        self.errors_5xx = []      # (url, status)
        self.unreachable = 0      # refused or timed out (a restarting or hung restreamer)
        self.problems = []
        self.session = requests.Session()

    def get(self, url):
        try:
            resp = self.session.get(url, timeout=5)
        except requests.RequestException:
            self.unreachable += 1
            return None
        if resp.status_code >= 500:
            self.errors_5xx.append((url, resp.status_code))
        return resp if resp.status_code == 200 else None

    def run(self):
        while not self.stopping.wait(self.interval):
            resp = self.get(self.url)
            if resp is None:
                continue
            self.reloads += 1
            sequence, uris = parse_live_playlist(resp.text)
            new = [u for s, u in enumerate(uris, sequence) if s not in self.seen]
            self.problems += [f"{self.name}: {p}" for p in
                              check_reload(self.seen, sequence, uris)]
            for uri in new[-3:]:  # a player joining late starts near the live edge
                body = self.get(urljoin(self.url, uri))
                if body is not None:
                    self.segments += 1
                    self.bytes += len(body.content)


def iso(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Submitter(threading.Thread):
    """Creates and submits one event every `interval` seconds through the editor's API."""

    def __init__(self, editor_url, stream, variant, run_id, stopping, interval=20.0,
                 back=timedelta(seconds=45), length=timedelta(seconds=8)):
        super().__init__(daemon=True, name="submitter")
        self.url = editor_url.rstrip("/")
        self.stream, self.variant, self.run_id = stream, variant, run_id
        self.stopping, self.interval, self.back, self.length = stopping, interval, back, length
        self.submitted = {}       # event id -> cut type
        self.refused = []         # (what, status or error) of calls that failed
        self.session = requests.Session()
        self.cut_types = itertools.cycle(CUT_TYPES)

    def call(self, method, path, csrf=None, **kwargs):
        headers = {"X-CSRF-Token": csrf} if csrf else {}
        return self.session.request(method, self.url + path, headers=headers, timeout=15,
                                    **kwargs)

    def submit_one(self, n):
        end = datetime.now(timezone.utc) - self.back
        start = end - self.length
        csrf = self.call("GET", "/api/session").json()["csrf"]
        created = self.call("POST", "/api/events", csrf, json={
            "event_start": iso(start), "description": f"soak {self.run_id} #{n}"})
        if created.status_code != 201:
            return f"create: HTTP {created.status_code} {created.text[:200]}"
        event = created.json()
        cut_type = next(self.cut_types)
        saved = self.call("PUT", f"/api/events/{event['id']}", csrf, json={
            "version": event["version"], "submit": True,
            "video_start": iso(start), "video_end": iso(end),
            "video_title": f"soak {self.run_id} {event['id']}",
            "video_description": "fault soak", "video_stream": self.stream,
            "video_variant": self.variant, "upload_location": "local", "cut_type": cut_type})
        if saved.status_code != 200:
            return f"submit: HTTP {saved.status_code} {saved.text[:200]}"
        self.submitted[event["id"]] = cut_type
        return None

    def run(self):
        # The first event's footage must be recorded since the nodes started.
        if self.stopping.wait((self.back + self.length).total_seconds() + 5):
            return
        for n in itertools.count(1):
            try:
                problem = self.submit_one(n)
            except (requests.RequestException, ValueError, KeyError) as e:
                problem = f"{type(e).__name__}: {e}"
            if problem:
                self.refused.append(problem)
            if self.stopping.wait(self.interval):
                return
