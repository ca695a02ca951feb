"""A video link that is not http(s) (the local upload backend's file:// URL, as ./run-local makes
them) is shown as text, and that text wraps inside the page: the events list and the edit page's
state card show all of it, with nothing pushed past the window's edge. Real Chromium, real
editor, restreamer and Postgres."""

from datetime import datetime, timedelta

import pytest
from browser_testing import Site, cutter_moves
from editor_testing import Server, iso
from support.archive import build_archive

T1 = datetime(2026, 11, 27, 12, 0, 0)
LINK = "file:///srv/archive/node-a/uploads/" + "0123456789abcdef" * 4 + ".mp4"
# The link's text ends inside the window and inside the card that holds it (a list or state
# card clips what sticks out of it), and nothing made the document wider than the window.
FITS = """([text, card]) => {
  const doc = document.documentElement;
  const span = [...document.querySelectorAll(card + ' span')].find((s) => s.textContent === text);
  const box = span.closest(card).getBoundingClientRect();
  const right = span.getBoundingClientRect().right;
  return doc.scrollWidth <= doc.clientWidth && right <= doc.clientWidth && right <= box.right;
}"""


@pytest.fixture
def site(editor_factory, users, db_dsn, tmp_path):
    base = tmp_path / "segments"
    build_archive(str(base), "main", "source", T1, 5)
    from restreamer.app import Config, create_app
    restreamer = Server(create_app(Config(str(base))), "restreamer")
    site = Site(editor_factory(restreamer_urls=[restreamer.url]), users, db_dsn, restreamer.url)
    yield site
    site.close()
    restreamer.stop()


def test_a_long_local_video_link_wraps_inside_the_page(browser, site):
    event = site.client("alice").create(event_start=iso(T1 + timedelta(seconds=2)),
                                        event_end=iso(T1 + timedelta(seconds=6)),
                                        description="a local upload")
    cutter_moves(site, event["id"], "state = 'DONE', upload_location = 'archive', uploader = 'node-a',"
                 " upload_time = now(), edit_time = now(),"
                 f" video_link = '{LINK}'")
    page = site.page(browser, "bob")
    cell = page.wait_for_selector(f"table.events >> text={LINK}")
    assert cell.inner_text() == LINK and page.locator("main a[href^='file:']").count() == 0
    assert page.evaluate(FITS, [LINK, ".table-wrap"])

    page.goto(f"{site.url}/#/events/{event['id']}")
    page.wait_for_selector(".status-card .state-line >> text=DONE")
    assert page.inner_text(".status-card").count(LINK.split("/")[-1]) == 1
    assert page.evaluate(FITS, [LINK, ".status-card"])
    assert not page.errors
