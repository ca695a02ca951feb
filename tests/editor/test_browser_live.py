"""A recent event without an end plays live on the edit page (the window grows with the
archive), and the Live page plays the live edge, with its sound where that is a separate audio
rendition: real Chromium, real restreamer over segments
written as a downloader writes them (each file arriving as its segment ends), real Postgres."""

import os
from datetime import timedelta, timezone

import pytest
from browser_testing import Site
from editor_testing import Server, iso
from support.archive import SEGMENT_SECONDS, build_archive, build_separate_audio_archive

from common.dateutil import utcnow
from common.segments import parse_segment_path

STREAM, VARIANT = "main", "source"
COUNT = 20  # the last 40 s


@pytest.fixture
def live_restreamer(tmp_path):
    """An archive whose last segment ended just now, every file 'arrived' when its segment
    ended (its mtime: the restreamer's arrival time), so the live rules list them."""
    base = str(tmp_path / "segments")
    now = utcnow().replace(microsecond=0)
    start = now - timedelta(seconds=COUNT * SEGMENT_SECONDS)
    build_archive(base, STREAM, VARIANT, start, COUNT)
    build_separate_audio_archive(base, "sep", VARIANT, start, COUNT, audio="audio-en")
    for directory, _, names in os.walk(base):
        for name in names:
            if name.endswith(".ts"):
                path = os.path.join(directory, name)
                segment = parse_segment_path(path)
                end = (segment.start + segment.duration).replace(tzinfo=timezone.utc).timestamp()
                os.utime(path, (end, end))
    from restreamer.app import Config, create_app
    server = Server(create_app(Config(base)), "restreamer")
    server.start = start
    yield server
    server.stop()


@pytest.fixture
def site(editor_factory, users, live_restreamer, db_dsn):
    site = Site(editor_factory(restreamer_urls=[live_restreamer.url]), users, db_dsn,
                live_restreamer.url)
    yield site
    site.close()


def test_a_recent_open_event_plays_live(browser, site, live_restreamer):
    event = site.client("alice").create(
        event_start=iso(live_restreamer.start + timedelta(seconds=10)))  # no end
    page = site.page(browser, "bob")
    page.goto(f"{site.url}/#/events/{event['id']}")
    page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
    page.wait_for_selector(".live-tag:not([hidden])")
    assert "open (live)" in page.inner_text(".window-bar")
    # It starts at the event's start, not at the live edge.
    event_start = live_restreamer.start + timedelta(seconds=10)
    page.wait_for_selector(f".clock-utc >> text={event_start.strftime('%H:%M:%S')}.000")

    # The Live page: it plays near the live edge (the last segments), by itself.
    page.click("a[data-nav=live]")
    page.wait_for_selector(".live-page")
    page.wait_for_function("document.querySelector('video').currentTime > 0.5")
    clock = page.wait_for_function(
        "() => { const t = document.querySelector('.clock-utc').textContent;"
        " return /^\\d\\d:\\d\\d:\\d\\d/.test(t) && t; }").json_value()
    start = live_restreamer.start
    seconds = int(clock[:2]) * 3600 + int(clock[3:5]) * 60 + int(clock[6:8])
    after = (seconds - (start.hour * 3600 + start.minute * 60 + start.second)) % 86400
    assert 20 <= after <= 2 * COUNT * SEGMENT_SECONDS, clock  # near the edge, not the start

    # A variant with a separate audio rendition: live with its sound (the master playlist).
    page.select_option(".live-page select[aria-label=stream]", "sep")
    page.wait_for_function("document.querySelector('video').webkitAudioDecodedByteCount > 0")
    assert not page.errors
