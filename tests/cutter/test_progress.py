"""A running job's progress: written by the cutter into event_progress while it cuts and
uploads, shown by `uploader events show`, removed when the job ends, and never a write to the
event's own row (an editor's version check must not fire on progress)."""

import json
import threading

import requests

from common import database
from common.events import progress as event_progress
from cutter_testing import T0, seconds, wait_for
from support.waiting import free_port
from test_youtube import yt_config  # noqa: F401 (fixture)

FAST = ["--progress-interval", "0.2"]


def row_version(events, event_id):
    """The events row's xmin: it changes on every write to the row, whatever the column."""
    return database.query(events.conn, "SELECT xmin::text FROM events WHERE id = %s",
                          event_id).fetchone()[0]


def progress_where(events, event_id, condition):
    seen = []

    def check():
        progress = event_progress.get(events.conn, event_id)
        if progress not in seen[-1:]:
            seen.append(progress)
        return progress if progress is not None and condition(progress) else None
    try:
        return wait_for(check, message="the job's progress")
    except AssertionError as e:
        raise AssertionError(f"{e}; saw {seen}") from None


def test_upload_progress_is_shown_and_leaves_the_event_row_alone(events, cutters, base_dir,
                                                                 fake_youtube, yt_config):  # noqa: F811
    fake_youtube.gate = threading.Event()  # every chunk waits: the upload stops after one read
    event_id = events.create_edited(T0 + seconds(2), T0 + seconds(14), location="yt",
                                    cut_type="fast")
    port = free_port()
    cutter = cutters.start("node1", yt_config, base_dir, *FAST, "--metrics-port", port)
    events.wait_state(event_id, "CLAIMED")
    claimed = row_version(events, event_id)

    progress = progress_where(events, event_id, lambda p: p.phase == "upload" and p.percent > 0)
    assert progress.uploader == "node1" and progress.percent < 100
    # The first 256 KiB chunk of about 1.3 MB was read.
    assert 5 < progress.percent < 40, progress
    assert row_version(events, event_id) == claimed  # cut and upload progress: no event write
    assert events.state(event_id) == "CLAIMED"

    shown = events.cli("events", "show", event_id[:8])
    line = next(line for line in shown.splitlines() if line.startswith("progress:"))
    assert f"upload {progress.percent:.0f}% (cutter node1, started " in line
    as_json = json.loads(events.cli("events", "show", event_id, "--json"))
    assert as_json["progress"]["phase"] == "upload"
    assert as_json["progress"]["percent"] == progress.percent

    fake_youtube.gate.set()
    events.wait_state(event_id, "TRANSCODING", "DONE")
    wait_for(lambda: event_progress.get(events.conn, event_id) is None,
             message="the progress to be removed")
    assert "progress:" not in events.cli("events", "show", event_id)
    assert json.loads(events.cli("events", "show", event_id, "--json"))["progress"] is None
    # The watched spool is still a spool: the upload is timed as one of a finished cut.
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'cutter_upload_latency_seconds_count{cut_type="fast",location="yt",' \
           'streamed="false"} 1.0' in metrics
    assert cutters.stop(cutter) == 0


def test_streamed_cut_progress(events, cutters, base_dir, tmp_path):
    out = tmp_path / "videos"
    # A full cut that cannot run faster than 4x real time: 20 s of video take 5 s.
    slow = ["-vf", "realtime=speed=4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
    config = cutters.local_config(out, container="mpegts", encode_args=slow)
    event_id = events.create_edited(T0, T0 + seconds(20), cut_type="full")
    cutter = cutters.start("node1", config, base_dir, *FAST)
    # ffmpeg's progress report, while it encodes. The local backend takes the cut as it is
    # made, so cutting and uploading are one phase.
    progress = progress_where(events, event_id, lambda p: p.percent and 0 < p.percent < 80)
    assert progress.phase == "cut_and_upload"
    later = progress_where(events, event_id, lambda p: p.percent > progress.percent)
    assert later.phase == "cut_and_upload" and later.started == progress.started
    events.wait_state(event_id, "DONE")
    wait_for(lambda: event_progress.get(events.conn, event_id) is None,
             message="the progress to be removed")
    assert cutters.stop(cutter) == 0
