"""Helpers for the editor's browser tests (Debian's headless Chromium via Playwright, against
the real editor app, real restreamers and real Postgres). Imported by name (conftest.py puts
this directory on sys.path); the `browser` fixture is re-exported by the test modules.

Frames read from the picture: the coded test video (support.framecode) carries each frame's
index, so what the page stores is checked against the frame it showed, not against anything
the page displayed."""

import psycopg2
import pytest
from support import framecode
from support.browser import chromium, new_page

# The frame on screen, read from the picture: brightness at each code block's centre.
READ_FRAME = """(points) => {
  const v = document.querySelector('video');
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(v, 0, 0);
  return points.map(([x, y]) => {
    const d = g.getImageData(x - 2, y - 2, 5, 5).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    return sum / (d.length / 4);
  });
}"""
SETTLED = "() => { const v = document.querySelector('video'); return v && v.readyState >= 2 && !v.seeking; }"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


class Site:
    """An editor whose pages are opened in `browser`; page(browser, name) signs a new account in."""

    def __init__(self, editor, users, dsn, restreamer_url):
        self.editor = editor
        self.url = editor.url
        self.users = users
        self.dsn = dsn
        self.restreamer = restreamer_url
        self.pages = []

    def client(self, name, admin=False):
        return self.users.client(self.editor, name, admin)

    def page(self, browser, name, admin=False):
        from playwright.sync_api import TimeoutError as PlaywrightTimeout  # only with a browser
        page = new_page(browser)
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        token = self.users.add(name, admin)
        page.goto(self.url + "/#/events")
        try:
            page.wait_for_selector("#token")
        except PlaywrightTimeout:
            raise AssertionError("no sign-in form; the page shows: "
                                 + page.inner_text("body")[:500]) from None
        page.fill("#token", token)
        page.press("#token", "Enter")
        page.wait_for_selector(f".who >> text={name}")
        self.pages.append(page)
        return page

    def close(self):
        for page in self.pages:
            page.context.close()


def shown_frame(page):
    """The index of the coded frame on screen, once the video has settled."""
    page.wait_for_function(SETTLED)
    return framecode.decode(page.evaluate(READ_FRAME, framecode.sample_points()))


def open_event(page, site, event_id):
    page.goto(f"{site.url}/#/events/{event_id}")
    page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
    page.wait_for_function(SETTLED)


def set_mark(page, key, which):
    page.keyboard.press(key)
    page.wait_for_function(f"document.querySelector('.mark-{which} .mark-utc').textContent !== 'not set'")


def button(page, name):
    return page.get_by_role("button", name=name, exact=True)


def cutter_moves(site, event_id, assignments):
    """Change the row as a cutter would (the page only watches)."""
    with psycopg2.connect(site.dsn) as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE events SET {assignments} WHERE id = %s", (event_id,))


def row(site, event_id, columns=("state", "video_start", "video_end", "video_title", "allow_holes")):
    with psycopg2.connect(site.dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(columns)} FROM events WHERE id = %s", (event_id,))
        return dict(zip(columns, cur.fetchone()))
