"""Which events a cutter takes, what it does without footage, and failures it can retry."""

import os
import subprocess
import sys
from datetime import timedelta

from common import database
from common.dateutil import utcnow
from cutter_testing import STREAM, T0, VARIANT, seconds, videos, wait_for
from support.archive import build_archive, real_segments, write_segment


def test_missing_footage_waits_with_an_error_then_cuts(events, cutters, tmp_path):
    base = tmp_path / "segments"
    build_archive(str(base), STREAM, VARIANT, T0, 8, skip={2})
    out = tmp_path / "videos"
    config = cutters.local_config(out, container="mpegts")
    waiting = events.create_edited(T0 + seconds(3), T0 + seconds(7), title="Waits",
                                   cut_type="rough")
    holey = events.create_edited(T0 + seconds(3), T0 + seconds(7), title="Holes allowed",
                                 cut_type="rough", allow_holes=True)
    cutter = cutters.start("node1", config, base)
    events.wait_state(holey, "DONE")
    row = events.get(waiting)
    assert row.state == "EDITED" and row.uploader is None
    assert row.error.startswith(
        f"node node1 lacks footage of {STREAM}/{VARIANT} between 2026-11-27 10:00:03 and "
        "2026-11-27 10:00:07: 1 hole(s), 0:00:02 missing")
    # The footage arrives (e.g. from the backfiller): the event is cut, the error cleared.
    with open(real_segments(8)[2], "rb") as f:
        write_segment(str(base), STREAM, VARIANT, T0 + seconds(4), seconds(2), f.read())
    row = events.wait_state(waiting, "DONE")
    assert row.error is None
    assert len(videos(out)) == 2
    assert cutters.stop(cutter) == 0


def test_whitelist_and_locations_limit_what_a_cutter_takes(events, cutters, base_dir,
                                                           tmp_path):
    config = cutters.local_config(tmp_path / "videos")
    not_me = events.create_edited(T0, T0 + seconds(2), whitelist="node2,node3")
    elsewhere = events.create_edited(T0, T0 + seconds(2), location="youtube")
    bad = events.create_edited(T0, T0 + seconds(2))
    # Written around the CLI (which validates): a path outside the archive.
    database.query(events.conn, "UPDATE events SET video_stream = '../etc' WHERE id = %s", bad)
    me = events.create_edited(T0, T0 + seconds(2), whitelist="node1", cut_type="rough")
    cutter = cutters.start("node1", config, base_dir)
    events.wait_state(me, "DONE")
    row = events.get(bad)
    assert row.state == "EDITED" and row.uploader is None
    assert row.error.startswith("cannot cut this edit: video_stream '../etc' is not a valid")
    for event_id in (not_me, elsewhere):
        row = events.get(event_id)
        assert (row.state, row.uploader, row.error) == ("EDITED", None, None)
    assert cutters.stop(cutter) == 0


def test_retryable_failure_goes_back_to_edited_then_succeeds(events, cutters, base_dir,
                                                             tmp_path):
    blocker = tmp_path / "videos"
    blocker.write_text("a file where the video directory should be")
    config = cutters.local_config(blocker / "sub")
    event_id = events.create_edited(T0, T0 + seconds(2), cut_type="rough")
    cutter = cutters.start("node1", config, base_dir)

    def failed():
        row = events.get(event_id)
        return row if row.error and row.error.startswith("upload failed, will retry") else None

    row = wait_for(failed, message="a retryable failure")
    assert row.state in ("EDITED", "CLAIMED")
    os.unlink(blocker)
    row = events.wait_state(event_id, "DONE")
    assert row.error is None and len(videos(blocker / "sub")) == 1
    assert cutters.stop(cutter) == 0


def test_startup_returns_own_claimed_rows_only(events, cutters, base_dir, tmp_path):
    config = cutters.local_config(tmp_path / "videos")
    mine = events.create_edited(T0, T0 + seconds(2), cut_type="rough")
    theirs = events.create_edited(T0 + seconds(2), T0 + seconds(4))
    database.query(events.conn, "UPDATE events SET state = 'CLAIMED', uploader = 'node1' "
                                "WHERE id = %s", mine)
    database.query(events.conn, "UPDATE events SET state = 'CLAIMED', uploader = 'node2' "
                                "WHERE id = %s", theirs)
    cutter = cutters.start("node1", config, base_dir)
    assert events.wait_state(mine, "DONE").uploader == "node1"
    row = events.get(theirs)
    assert (row.state, row.uploader) == ("CLAIMED", "node2")
    assert cutters.stop(cutter) == 0


def test_bad_config_is_a_one_line_error(tmp_path, db_dsn):
    cases = {
        '{"locations": {"a": {"backend": "ftp"}}}': "unknown backend 'ftp'",
        '{"locations": {"a": {"backend": "local", "options": {}}}}': "needs option 'directory'",
        '{"locations": {"a": {"backend": "local", "colour": 1}}}': "unknown key(s) colour",
        '{"location": {}}': "unknown top-level key(s): location",
        '{"locations": ': "not valid JSON",
    }
    for text, message in cases.items():
        (tmp_path / "c.json").write_text(text)
        result = subprocess.run(
            [sys.executable, "-m", "cutter", "--name", "n", "--database", db_dsn,
             "--base-dir", str(tmp_path), "--config", str(tmp_path / "c.json")],
            cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_event_still_being_recorded_waits_even_with_holes_allowed(events, cutters, base_dir,
                                                                  tmp_path):
    out = tmp_path / "videos"
    now = utcnow().replace(microsecond=0)
    live = events.create_edited(T0, now + timedelta(hours=1), allow_holes=True,
                                cut_type="rough")
    past = events.create_edited(T0, T0 + seconds(2), cut_type="rough")
    cutter = cutters.start("node1", cutters.local_config(out), base_dir)
    events.wait_state(past, "DONE")
    row = wait_for(lambda: (lambda r: r if r.error else None)(events.get(live)),
                   message="the live event's note")
    assert row.state == "EDITED" and "may still be arriving" in row.error
    # When it will be cut: its end plus the margin, not "after it" (already recorded so far).
    assert str(now + timedelta(hours=1, seconds=30)) in row.error, row.error
    assert len(videos(out)) == 1
    assert cutters.stop(cutter) == 0
