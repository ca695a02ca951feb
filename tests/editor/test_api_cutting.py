"""Submit on the editor -> the test suite's cutter (a real process) claims the event, cuts the
range from the real-video archive and uploads it; the editor shows it walk to DONE."""

import json
import urllib.parse
from datetime import timedelta

from cutter_testing import Cutters, ffprobe_duration, videos
from editor_testing import T0, good_edit, iso
from support.waiting import wait_for


def test_submitted_event_is_cut_by_the_cutter(editor, users, archive, tmp_path, db_dsn):
    client = users.client(editor, "alice")
    event = client.create(description="the moment")
    start = T0 + timedelta(seconds=3, milliseconds=500)
    edit = good_edit(start=start, seconds=5.5, video_title="From the editor",
                     video_tags=["a", "b"], cut_type="fast")
    response = client.put(f"/api/events/{event['id']}", json=dict(edit, version=1, submit=True))
    assert response.status_code == 200, response.text

    cutters = Cutters(tmp_path, db_dsn)
    out = tmp_path / "videos"
    try:
        cutter = cutters.start("node-e", cutters.local_config(out, write_info=True), archive)
        seen = set()

        def done():
            current = client.event(event["id"])
            seen.add(current["state"])
            return current if current["state"] == "DONE" else None
        final = wait_for(done, timeout=60, message="the event to be DONE")
        assert cutters.stop(cutter) == 0
    finally:
        cutters.stop_all()

    assert final["uploader"] == "node-e" and final["error"] is None
    assert final["editor"] == "alice" and final["video_start"] == iso(start)
    assert final["version"] > 2  # the cutter's writes moved it too
    path = urllib.parse.urlparse(final["video_link"]).path
    assert videos(out) == [f"{final['video_id']}.mp4"]
    assert abs(ffprobe_duration(path) - 5.5) <= 1 / 30
    info = json.loads((out / f"{final['video_id']}.json").read_text())
    assert info["title"] == "From the editor" and info["tags"] == ["a", "b"]
    assert seen <= {"EDITED", "CLAIMED", "FINALIZING", "DONE"}
