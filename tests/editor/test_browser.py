"""The editor's page in a real browser (Debian's headless Chromium via Playwright), against the
real editor app, a real restreamer and real Postgres, on real video whose frames carry their
own index (support.framecode): what the page stores is checked against the timestamp of the
frame it showed, read from the segment itself, not against anything the page displayed."""

from datetime import datetime, timedelta

import psycopg2
import pytest
from browser_testing import (SETTLED, Site, button, cutter_moves, open_event, row, set_mark,
                             shown_frame)
from editor_testing import Server, iso
from support import framecode
from support.archive import SEGMENT_SECONDS, build_archive, real_segments
from support.waiting import free_port, wait_for
from common.dateutil import utcnow

T1 = datetime(2026, 11, 27, 12, 0, 0)
STREAM, VARIANT = "main", "source"
COUNT = 30  # 60 s of 30 fps video
HOLE = 20  # the segment left out: no video from T1 + 40 s to T1 + 42 s
FRAME = timedelta(seconds=1 / 30)
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def coded_restreamer(tmp_path_factory):
    base = tmp_path_factory.mktemp("coded-archive") / "segments"
    build_archive(str(base), STREAM, VARIANT, T1, COUNT, skip={HOLE}, coded=True)
    from restreamer.app import Config, create_app
    server = Server(create_app(Config(str(base))), "restreamer")
    yield server
    server.stop()


@pytest.fixture
def site(editor_factory, users, coded_restreamer, db_dsn):
    """The editor over the coded archive; `site.page(browser, name)` is a browser page signed in
    as name. Its first restreamer is down (nothing listens there): the page must fall back to
    the next."""
    editor = editor_factory(restreamer_urls=[f"http://127.0.0.1:{free_port()}", coded_restreamer.url])
    site = Site(editor, users, db_dsn, coded_restreamer.url)
    yield site
    site.close()


def frame_time(index):
    """Wall-clock time of coded frame `index`: its PTS in its segment, from the segment's start."""
    sources = real_segments(COUNT, coded=True)
    segments = [(T1 + i * timedelta(seconds=SEGMENT_SECONDS), path) for i, path in enumerate(sources)]
    return framecode.frame_wall_clock(segments, index)


def test_keyboard_marks_are_stored_to_the_frame_shown(browser, site):
    event = site.client("alice").create(event_start=iso(T1 + timedelta(seconds=10)),
                                        event_end=iso(T1 + timedelta(seconds=30)),
                                        description="a goal")
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    assert shown_frame(page) == 300  # the event's start: 10 s of 30 fps
    assert page.inner_text(".source-info").endswith(site.restreamer)  # the one that is up
    page.wait_for_selector(".fps-info >> text=/^30 fps$/")  # the stream's own, before it plays

    # It plays: the video's clock advances.
    before = page.evaluate("document.querySelector('video').currentTime")
    page.keyboard.press("Space")
    page.wait_for_function(f"document.querySelector('video').currentTime > {before} + 0.5")

    # Typed without waiting, while it plays: pause, in, five frames and a second on, out.
    # Each key acts in turn, on the frame the one before left on screen.
    for key in ["Space", "i"] + ["ArrowRight"] * 5 + ["Shift+ArrowRight", "o"]:
        page.keyboard.press(key)
    for which in ("in", "out"):
        page.wait_for_function(f"document.querySelector('.mark-{which} .mark-utc').textContent !== 'not set'")
    last = shown_frame(page)

    page.fill("#f-title", "The goal")
    page.fill("#f-description", "Seen from the stands")
    page.keyboard.press("Control+Enter")
    wait_for(lambda: row(site, event["id"])["state"] == "EDITED", message="the event to be submitted")
    page.wait_for_selector(".status-card .state-line >> text=EDITED")
    stored = row(site, event["id"])
    assert abs(stored["video_end"] - frame_time(last)) < FRAME, (last, stored["video_end"])
    assert abs(stored["video_start"] - frame_time(last - 35)) < FRAME, (last, stored["video_start"])

    # The page follows the event as a cutter moves it: its error in words, then the link.
    cutter_moves(site, event["id"], "state = 'CLAIMED', uploader = 'node-a'")
    page.wait_for_selector(".status-card .state-line >> text=CLAIMED")
    cutter_moves(site, event["id"], "state = 'EDITED', error = 'upload failed: quota exceeded'")
    page.wait_for_selector(".status-card .error-text >> text=upload failed: quota exceeded")
    cutter_moves(site, event["id"], "state = 'DONE', error = NULL, upload_time = now(),"
                 " video_link = 'https://videos.example/goal'")
    assert page.wait_for_selector(".status-card a").get_attribute("href") == "https://videos.example/goal"
    assert not page.errors


def test_markup_is_shown_as_text_and_runs_nothing(browser, site):
    event = site.client("alice").create(event_start=iso(T1 + timedelta(seconds=5)),
                                        event_end=iso(T1 + timedelta(seconds=8)),
                                        description=XSS)
    # The API refuses such a title; a row written by other means must still show as text.
    with psycopg2.connect(site.dsn) as conn, conn.cursor() as cur:
        cur.execute("UPDATE events SET video_title = %s, error = %s WHERE id = %s",
                    (XSS, "<b>cut failed</b>" + XSS, event["id"]))
    page = site.page(browser, "bob")
    page.wait_for_selector(f"table.events >> text={XSS}")
    assert page.locator("main img").count() == 0
    open_event(page, site, event["id"])
    assert page.input_value("#f-title") == XSS
    assert page.inner_text(".event-desc") == XSS
    assert page.inner_text(".error-text") == "<b>cut failed</b>" + XSS

    # Typed and saved, the server refuses it; its reason shows as text too.
    page.fill("#f-title", XSS + " again")
    button(page, "Save draft").click()
    page.wait_for_selector(".form-error:not(:empty)")
    assert "<" in page.inner_text(".form-error") or "title" in page.inner_text(".form-error")
    assert page.locator("main img").count() == 0
    assert page.dialogs == [] and not page.errors


def test_a_stale_save_shows_the_conflict_and_keeps_the_input(browser, site):
    alice = site.client("alice")
    event = alice.create(event_start=iso(T1 + timedelta(seconds=5)),
                         event_end=iso(T1 + timedelta(seconds=8)))
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.fill("#f-title", "Bob's title")
    response = alice.put(f"/api/events/{event['id']}",
                         json={"version": event["version"], "video_title": "Alice's title", "submit": False})
    assert response.status_code == 200, response.text

    button(page, "Save draft").click()
    conflict = page.wait_for_selector(".conflict")
    text = conflict.inner_text()
    assert "alice" in text and "Alice's title" in text and "Bob's title" in text
    assert page.input_value("#f-title") == "Bob's title"
    assert row(site, event["id"])["video_title"] == "Alice's title"

    button(page, "Keep mine and save again").click()
    wait_for(lambda: row(site, event["id"])["video_title"] == "Bob's title", message="Bob's save")
    page.wait_for_selector(".conflict", state="detached")


def test_holes_need_allow_holes_and_preview_plays_the_marked_range(browser, site):
    event = site.client("alice").create(event_start=iso(T1 + timedelta(seconds=38)),
                                        event_end=iso(T1 + timedelta(seconds=44)))
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    set_mark(page, "i", "in")  # T1 + 38 s, frame 1140
    page.keyboard.press("g")
    page.keyboard.type("+5.5")  # T1 + 43.5 s: past the hole (T1 + 40 s to 42 s)
    page.keyboard.press("Enter")
    page.wait_for_function(SETTLED)
    set_mark(page, "o", "out")
    assert shown_frame(page) == 1305
    note = page.wait_for_selector(".holes-note:not([hidden])")
    assert "1 hole (2.000 s missing)" in note.inner_text()

    page.fill("#f-title", "Across the hole")
    page.fill("#f-description", "d")
    button(page, "Submit").click()
    page.wait_for_selector(".form-error >> text=Allow holes")
    assert row(site, event["id"])["state"] == "UNEDITED"

    # Preview: from in, through the hole (closed up, as the cut joins the pieces), to the
    # last frame before out.
    page.keyboard.press("p")
    page.wait_for_function("!document.querySelector('video').paused")
    page.wait_for_function("document.querySelector('video').paused", timeout=60_000)
    assert shown_frame(page) == 1304

    page.check("#f-allow-holes")
    button(page, "Submit").click()
    wait_for(lambda: row(site, event["id"])["state"] == "EDITED", message="the submit")
    assert row(site, event["id"])["allow_holes"] is True


def test_time_forms_and_hole_rules(browser, site):
    """The page's pure rules, run in the browser: what an editor may type as a time, how marks
    are written for the API, and which fragment boundaries count as holes."""
    page = site.page(browser, "bob")
    results = page.evaluate("""async () => {
      const t = await import('/static/js/time.js');
      const p = await import('/static/js/player.js');
      const ref = Date.UTC(2026, 10, 27, 23, 59, 0);  // 23:59 UTC
      const at = (text) => { const r = t.parseTimeInput(text, ref); return r.error ? 'error' : t.toIso(r.ms); };
      const frag = (s, e, cc) => ({ startMs: ref + s * 1000, endMs: ref + e * 1000, cc });
      const holes = (frags, from, to) => p.holesIn(frags, ref + from * 1000, ref + to * 1000)
        .map((h) => [(h.fromMs - ref) / 1000, (h.toMs - ref) / 1000]);
      const run = [frag(0, 2, 0), frag(2, 4, 0), frag(6, 8, 1), frag(8, 10, 2)];
      return {
        iso: at('2026-11-27T13:45:51.608Z'), offset: at('2026-11-27T14:45:51.608+01:00'),
        naive: at('2026-11-27 13:45:51'), clockNextDay: at('00:00:30'), clockSameDay: at('23:58:00.25'),
        plus: at('+1:30'), minus: at('-10s'), minutes: at('-2m'), hours: at('+0:01:00.5'), junk: at('soon'),
        floor: t.toIso(Date.UTC(2026, 10, 27) + 33.3333), relative: t.fmtRelative(ref - 5000, ref),
        duration: t.fmtDuration(83456), long: t.fmtDuration(3723456),
        none: holes(run, 0.5, 3.5), gap: holes(run, 1, 7), brk: holes(run, 7, 9.5), ends: holes(run, -1, 11),
        jitter: holes([frag(0, 1.998, 0), frag(2, 4, 0)], 0.5, 3),
      };
    }""")
    assert results["iso"] == "2026-11-27T13:45:51.608Z"
    assert results["offset"] == "2026-11-27T13:45:51.608Z"
    assert results["naive"] == "2026-11-27T13:45:51.000Z"
    assert results["clockNextDay"] == "2026-11-28T00:00:30.000Z"  # the nearest such time
    assert results["clockSameDay"] == "2026-11-27T23:58:00.250Z"
    assert results["plus"] == "2026-11-28T00:00:30.000Z"
    assert results["minus"] == "2026-11-27T23:58:50.000Z"
    assert results["minutes"] == "2026-11-27T23:57:00.000Z"
    assert results["hours"] == "2026-11-28T00:00:00.500Z"
    assert results["junk"] == "error"
    assert results["floor"] == "2026-11-27T00:00:00.033Z"  # never after the frame
    assert results["relative"] == "−0:00:05.000"
    assert (results["duration"], results["long"]) == ("1:23.456", "1:02:03.456")
    assert results["none"] == []
    assert results["jitter"] == []  # one discontinuity run: contiguous, whatever the ms say
    assert results["gap"] == [[4, 6]]
    assert results["brk"] == [[8, 8]]  # a discontinuity without a gap (after a partial)
    assert results["ends"] == [[-1, 0], [4, 6], [8, 8], [10, 11]]


def test_list_filters_and_searches_and_live_clips_an_event(browser, site):
    alice = site.client("alice")
    goal = alice.create(event_start=iso(T1 + timedelta(seconds=5)), description="a goal")
    alice.create(event_start=iso(T1 + timedelta(seconds=9)), description="a save")
    page = site.page(browser, "bob")
    page.wait_for_selector("table.events >> text=a save")
    page.keyboard.press("/")
    page.keyboard.type("goal")
    page.wait_for_function("document.querySelectorAll('table.events tbody tr').length === 1")
    assert "a goal" in page.inner_text("table.events tbody")
    page.click("button[data-state=DONE]")
    page.wait_for_selector("td.empty >> text=No events match.")
    page.click("button[data-state='']")
    page.wait_for_selector("table.events >> text=a goal")
    page.locator("h1, .refresh-status").first.click()  # focus off the buttons
    page.keyboard.press("Enter")  # opens the selected (only) row
    page.wait_for_function(f"location.hash === '#/events/{goal['id']}'")

    # Live: nothing is live in this archive; clipping still starts an event 30 s back.
    page.goto(f"{site.url}/#/live")
    page.wait_for_selector(".video-overlay >> text=Nothing live")
    before = utcnow()
    page.keyboard.press("c")
    page.wait_for_function("/^#\\/events\\/[0-9a-f-]+$/.test(location.hash)")
    new_id = page.evaluate("location.hash.split('/')[2]")
    with psycopg2.connect(site.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT event_start, event_end FROM events WHERE id = %s", (new_id,))
        start, end = cur.fetchone()
    assert end is None
    assert timedelta(seconds=29) < before - start < timedelta(seconds=40)
