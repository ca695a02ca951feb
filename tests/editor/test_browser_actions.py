"""The edit page's forms and buttons in a real browser (Debian's headless Chromium), against
the real editor app, restreamer and Postgres: the event's own fields, saving once submitted
(only changed video inputs are resubmitted), cancel, the admin actions (reset, retry, manual
link), and the cutter's progress as it runs (written through common.events.progress)."""

from datetime import timedelta

import pytest
from browser_testing import Site, button, cutter_moves, open_event, row, set_mark
from editor_testing import STREAM, T0, VARIANT, good_edit, iso
from support.waiting import wait_for

from common import database
from common.events import progress as event_progress
from common.dateutil import utcnow



@pytest.fixture
def site(editor_factory, users, restreamer, db_dsn):
    site = Site(editor_factory(), users, db_dsn, restreamer.url)
    yield site
    site.close()


def submitted(site, **changes):
    """An event submitted by alice over the archive's footage."""
    alice = site.client("alice")
    event = alice.create(event_start=iso(T0 + timedelta(seconds=4)),
                         event_end=iso(T0 + timedelta(seconds=12)), description="a jump")
    edit = good_edit(video_stream=STREAM, video_variant=VARIANT, **changes)
    response = alice.put(f"/api/events/{event['id']}",
                         json={"version": event["version"], **edit, "submit": True})
    assert response.status_code == 200, response.text
    return response.json()


def test_event_fields_save_without_disturbing_a_running_cut(browser, site):
    event = submitted(site)
    cutter_moves(site, event["id"], "state = 'CLAIMED', uploader = 'node-a'")
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.wait_for_selector(".status-card .state-line >> text=CLAIMED")
    assert page.input_value("#f-event-description") == "a jump"

    # Only the event's own fields changed: saved alone, the cutter keeps its claim.
    page.fill("#f-category", "speedrun")
    page.fill("#f-notes", "check the audio")
    assert button(page, "Save").is_visible()
    page.keyboard.press("Control+s")
    wait_for(lambda: row(site, event["id"], ("notes",))["notes"] == "check the audio",
             message="the notes saved")
    stored = row(site, event["id"], ("state", "category", "video_title", "editor"))
    assert stored == {"state": "CLAIMED", "category": "speedrun", "video_title": "A highlight",
                      "editor": "bob"}
    page.wait_for_selector(".edit-head .category >> text=speedrun")

    # A changed video input is a resubmit: back to EDITED, the cutter abandons the old cut.
    page.fill("#f-title", "A better title")
    button(page, "Save and resubmit").click()
    wait_for(lambda: row(site, event["id"])["state"] == "EDITED", message="the resubmit")
    assert row(site, event["id"])["video_title"] == "A better title"

    # Cancel: back to UNEDITED, the inputs kept as a draft.
    button(page, "Cancel submission").click()
    wait_for(lambda: row(site, event["id"])["state"] == "UNEDITED", message="the cancel")
    page.wait_for_selector(".status-card .state-line >> text=UNEDITED")
    assert button(page, "Submit").is_visible()
    assert page.input_value("#f-title") == "A better title"

    # Done: the video inputs are frozen, the event's notes still editable.
    cutter_moves(site, event["id"], "state = 'DONE', uploader = 'node-a', upload_time = now(),"
                 " video_link = 'https://videos.example/j'")
    page.wait_for_selector(".status-card .state-line >> text=DONE")
    assert page.is_disabled("#f-title") and page.is_enabled("#f-notes")
    page.fill("#f-notes", "uploaded fine")
    button(page, "Save").click()
    wait_for(lambda: row(site, event["id"], ("notes",))["notes"] == "uploaded fine",
             message="the notes on a done event")
    assert not page.errors


def test_a_conflict_on_the_event_fields_shows_both(browser, site):
    alice = site.client("alice")
    event = alice.create(event_start=iso(T0 + timedelta(seconds=4)), description="first words")
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    # Open for days: it plays as a finished window, its first hour (live would leave out
    # footage that arrived late, as all of this archive did).
    assert "(1:01:00.000)" in page.inner_text(".window-bar")
    assert page.locator(".live-tag").is_hidden()
    page.fill("#f-event-description", "bob's words")
    response = alice.put(f"/api/events/{event['id']}",
                         json={"version": event["version"], "description": "alice's words"})
    assert response.status_code == 200, response.text
    button(page, "Save draft").click()
    conflict = page.wait_for_selector(".conflict").inner_text()
    assert "Event description" in conflict and "alice's words" in conflict
    assert "bob's words" in conflict
    assert page.input_value("#f-event-description") == "bob's words"
    button(page, "Take theirs (drop my changes)").click()
    page.wait_for_selector(".conflict", state="detached")
    assert page.input_value("#f-event-description") == "alice's words"


def test_a_running_jobs_progress_shows_and_moves_by_itself(browser, site):
    event = submitted(site)
    cutter_moves(site, event["id"], "state = 'CLAIMED', uploader = 'node-a'")
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.wait_for_selector(".status-card .state-line >> text=CLAIMED")
    assert page.locator(".progress-line").count() == 0
    conn = database.DBManager(site.dsn).get_conn()
    try:
        started = utcnow()
        # As the cutter writes it (common.events.progress): the page polls, nobody reloads.
        event_progress.record(conn, event["id"], "node-a", event_progress.CUT, 40.0, started,
                              utcnow())
        page.wait_for_selector(".progress-line .job-what >> text=Cutting 40%")
        assert "cutter node-a" in page.inner_text(".progress-line")
        event_progress.record(conn, event["id"], "node-a", event_progress.UPLOAD, 75.5, started,
                              utcnow())
        page.wait_for_selector(".progress-line .job-what >> text=Uploading 75%")
        assert page.eval_on_selector(".progress-line progress", "p => p.value") == 75.5
        event_progress.clear(conn, event["id"], "node-a")
        page.wait_for_selector(".progress-line", state="detached")

        # The list shows it too, and refreshes by itself.
        page.goto(f"{site.url}/#/events")
        page.wait_for_selector("table.events >> text=a jump")
        event_progress.record(conn, event["id"], "node-a", event_progress.CUT_AND_UPLOAD, None,
                              started, utcnow())
        cell = page.wait_for_selector("td.state-cell .job >> text=cutting and uploading")
        assert cell.inner_text().strip() == "cutting and uploading"  # no percent: not known yet
    finally:
        conn.close()
    assert not page.errors


def test_admin_actions_ask_first(browser, site):
    event = submitted(site)
    cutter_moves(site, event["id"], "state = 'FINALIZING', uploader = 'node-a'")
    editor = site.page(browser, "bob")
    open_event(editor, site, event["id"])
    editor.wait_for_selector(".status-card .state-line >> text=FINALIZING")
    assert editor.locator(".admin-action").count() == 0  # not an admin

    page = site.page(browser, "carol", admin=True)
    open_event(page, site, event["id"])
    button(page, "Retry…").click()
    page.wait_for_selector("dialog[open] >> text=Retry the upload?")
    assert "node-a" in page.inner_text("dialog[open]")
    page.locator("dialog[open]").get_by_role("button", name="Retry", exact=True).click()
    wait_for(lambda: row(site, event["id"])["state"] == "EDITED", message="the retry")
    page.wait_for_selector(".status-card .state-line >> text=EDITED")

    cutter_moves(site, event["id"], "state = 'FINALIZING', uploader = 'node-b'")
    page.wait_for_selector(".status-card .state-line >> text=FINALIZING")
    button(page, "Reset…").click()
    page.wait_for_selector("dialog[open] >> text=Reset the event?")
    page.keyboard.press("Escape")  # changed my mind
    page.wait_for_selector("dialog", state="detached")
    assert row(site, event["id"])["state"] == "FINALIZING"
    button(page, "Reset…").click()
    page.locator("dialog[open]").get_by_role("button", name="Reset", exact=True).click()
    wait_for(lambda: row(site, event["id"])["state"] == "UNEDITED", message="the reset")

    page.wait_for_selector(".status-card .state-line >> text=UNEDITED")
    button(page, "Manual link…").click()
    page.fill("dialog[open] input[name=link]", "javascript:alert(1)")
    page.locator("dialog[open]").get_by_role("button", name="Mark DONE").click()
    page.wait_for_selector("dialog[open] .error >> text=http:// or https://")
    page.fill("dialog[open] input[name=link]", "https://videos.example/by-hand")
    page.fill("dialog[open] input[name=video_id]", "by-hand")
    page.locator("dialog[open]").get_by_role("button", name="Mark DONE").click()
    wait_for(lambda: row(site, event["id"])["state"] == "DONE", message="the manual link")
    stored = row(site, event["id"], ("video_link", "video_id", "upload_location", "editor"))
    assert stored == {"video_link": "https://videos.example/by-hand", "video_id": "by-hand",
                      "upload_location": "manual", "editor": "carol"}
    link = page.wait_for_selector(".status-card a")
    assert link.get_attribute("href") == "https://videos.example/by-hand"
    assert not page.errors and not page.dialogs


def test_the_list_refreshes_by_itself_and_starts_an_event_at_a_chosen_time(browser, site):
    alice = site.client("alice")
    alice.create(event_start=iso(T0 + timedelta(seconds=2)), description="older")
    page = site.page(browser, "bob")
    page.wait_for_selector("table.events >> text=older")
    # Another editor's new event appears without a reload, newest first.
    alice.create(event_start=iso(T0 + timedelta(seconds=9)), description="newer",
                 category="donation")
    page.wait_for_selector("table.events >> text=newer")
    descriptions = page.locator("table.events tbody td.wide:nth-child(5)").all_inner_texts()
    assert descriptions == ["newer", "older"]

    page.keyboard.press("n")
    page.fill(".new-event [aria-label='event start']", iso(T0 + timedelta(seconds=5)))
    page.fill(".new-event [aria-label='event end']", "+10s")  # from the start
    page.fill(".new-event [aria-label='category']", "speedrun")
    page.fill(".new-event [aria-label='description']", "a skip")
    page.wait_for_selector(".new-event >> text=length 10.000 s")
    button(page, "Create and edit").click()
    page.wait_for_function("/^#\\/events\\/[0-9a-f-]+$/.test(location.hash)")
    new_id = page.evaluate("location.hash.split('/')[2]")
    stored = row(site, new_id, ("event_start", "event_end", "category", "description", "editor"))
    assert stored == {"event_start": T0 + timedelta(seconds=5),
                      "event_end": T0 + timedelta(seconds=15), "category": "speedrun",
                      "description": "a skip", "editor": "bob"}
    page.wait_for_selector(".edit-head .event-desc >> text=a skip")


def test_leaving_an_event_with_unsaved_inputs_asks_first(browser, site):
    event = site.client("alice").create(event_start=iso(T0 + timedelta(seconds=4)),
                                        event_end=iso(T0 + timedelta(seconds=8)))
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.click("a.back")  # nothing typed: no question
    page.wait_for_selector("table.events")
    open_event(page, site, event["id"])
    page.fill("#f-title", "Half typed")
    page.click("a.back")
    page.wait_for_selector("dialog[open] >> text=Leave this event?")
    page.locator("dialog[open]").get_by_role("button", name="Cancel").click()
    assert page.input_value("#f-title") == "Half typed"
    assert page.evaluate("location.hash") == f"#/events/{event['id']}"
    page.click("a.back")
    page.locator("dialog[open]").get_by_role("button", name="Leave without saving").click()
    page.wait_for_selector("table.events")
    assert row(site, event["id"])["video_title"] is None
    assert not page.errors


def test_cancelling_a_running_cut_asks_first(browser, site):
    event = submitted(site)
    cutter_moves(site, event["id"], "state = 'CLAIMED', uploader = 'node-a'")
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.wait_for_selector(".status-card .state-line >> text=CLAIMED")
    button(page, "Cancel submission").click()
    page.wait_for_selector("dialog[open] >> text=Cutter node-a is cutting this event now")
    page.locator("dialog[open]").get_by_role("button", name="Cancel", exact=True).click()
    page.wait_for_selector("dialog", state="detached")
    assert row(site, event["id"])["state"] == "CLAIMED"
    button(page, "Cancel submission").click()
    page.locator("dialog[open]").get_by_role("button", name="Cancel the cut").click()
    wait_for(lambda: row(site, event["id"])["state"] == "UNEDITED", message="the cancel")
    assert not page.errors


def test_the_events_times_are_set_on_the_edit_page(browser, site):
    event = site.client("alice").create(event_start=iso(T0 + timedelta(seconds=4)))  # open
    page = site.page(browser, "bob")
    open_event(page, site, event["id"])
    page.fill("#f-event-end", "soon")
    button(page, "Save draft").click()
    page.wait_for_selector(".form-error >> text=event_end")  # the server's reason
    page.fill("#f-event-end", "+6s")  # from the event's start
    page.keyboard.press("Control+s")
    wait_for(lambda: row(site, event["id"], ("event_end",))["event_end"] is not None,
             message="the event's end")
    assert row(site, event["id"], ("event_end",))["event_end"] == T0 + timedelta(seconds=10)
    # The page is built again for the new times: the event now ends, its window with it.
    page.wait_for_selector(".event-times >> text=10:00:10.000")
    page.wait_for_function("performance.getEntriesByName('editor:first-frame').length > 0")
    page.wait_for_function("document.querySelector('video').readyState >= 2")

    # "= out": the event ends where the video does.
    page.keyboard.press("l")  # ten seconds on
    set_mark(page, "o", "out")
    page.click(".from-mark >> text== out")
    button(page, "Save draft").click()
    wait_for(lambda: row(site, event["id"], ("event_end",))["event_end"] != T0 + timedelta(seconds=10),
             message="the end at the out mark")
    stored = row(site, event["id"])
    assert stored["video_end"] == row(site, event["id"], ("event_end",))["event_end"]
    assert abs(stored["video_end"] - (T0 + timedelta(seconds=14))) < timedelta(seconds=1 / 30)
    assert not page.errors
