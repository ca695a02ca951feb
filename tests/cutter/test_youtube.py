"""The cutter with the youtube backend, against the resumable-protocol fake over real HTTP."""

import signal
import threading

import pytest

from common import database
from cutter_testing import T0, ffprobe_duration, seconds, wait_for


@pytest.fixture
def yt_config(cutters, fake_youtube, tmp_path):
    options = dict(fake_youtube.endpoints, chunk_size=256 * 1024, retry_backoff=0.01,
                   timeout=10, credentials_file=fake_youtube.write_credentials(
                       tmp_path / "youtube.json"))
    return cutters.config({"yt": {"backend": "youtube", "transcode_check_interval": 0.1,
                                  "options": options}})


def edit(events, start, end, title="Video"):
    return events.create_edited(T0 + seconds(start), T0 + seconds(end), title=title,
                                location="yt", cut_type="fast")


def test_upload_waits_for_transcode_then_done(events, cutters, base_dir, fake_youtube,
                                              yt_config, tmp_path):
    fake_youtube.processing_polls = 10 ** 6
    event_id = edit(events, 3, 8)
    cutter = cutters.start("node1", yt_config, base_dir)
    row = events.wait_state(event_id, "TRANSCODING")
    assert row.video_link == "https://youtu.be/" + row.video_id
    video = fake_youtube.videos[row.video_id]
    wait_for(lambda: video["polls"] < 10 ** 6 - 2, message="transcode checks")
    assert events.state(event_id) == "TRANSCODING"
    video["polls"] = 0  # processing finished
    events.wait_state(event_id, "DONE")
    (tmp_path / "got.ts").write_bytes(video["data"])
    assert abs(ffprobe_duration(tmp_path / "got.ts") - 5) <= 1 / 30
    assert video["meta"]["snippet"]["title"] == "Video"
    assert cutters.stop(cutter) == 0


def test_rejection_is_final_after_one_request(events, cutters, base_dir, fake_youtube,
                                              yt_config):
    fake_youtube.init_status = 400
    rejected = edit(events, 2, 4, "Rejected")
    cutter = cutters.start("node1", yt_config, base_dir)
    row = events.wait_state(rejected, "UNEDITED")
    assert row.error.startswith("upload refused: YouTube refused the upload: 400")
    assert row.uploader is None
    # The cutter carries on with other work and never retries the rejected one.
    fake_youtube.init_status = None
    accepted = edit(events, 6, 8, "Accepted")
    events.wait_state(accepted, "TRANSCODING", "DONE")
    assert fake_youtube.count("POST", "/upload/videos") == 2
    assert events.state(rejected) == "UNEDITED"
    assert cutters.stop(cutter) == 0


def test_connection_dropped_mid_upload_resumes_to_one_video(events, cutters, base_dir,
                                                            fake_youtube, yt_config):
    fake_youtube.drop_at = 300 * 1024  # inside the second chunk
    event_id = edit(events, 3, 9)
    cutter = cutters.start("node1", yt_config, base_dir)
    row = events.wait_state(event_id, "DONE")
    assert list(fake_youtube.videos) == [row.video_id]
    assert fake_youtube.count("POST", "/upload/videos") == 1
    assert fake_youtube.drop_at is None  # the drop did happen
    assert "resuming the upload" in cutters.log(cutter)
    assert cutters.stop(cutter) == 0


def test_5xx_on_the_finalising_request_stays_finalizing(events, cutters, base_dir,
                                                        fake_youtube, yt_config):
    fake_youtube.final_status = 503
    event_id = edit(events, 2, 5)
    cutter = cutters.start("node1", yt_config, base_dir)
    row = wait_for(lambda: (lambda r: r if r.state == "FINALIZING" and r.error else None)(
        events.get(event_id)), message="FINALIZING with an error")
    assert "may or may not have happened" in row.error and "503" in row.error
    assert row.uploader == "node1"
    # Later work proceeds; the unknown one is never retried.
    fake_youtube.final_status = None
    other = edit(events, 10, 12, "Other")
    events.wait_state(other, "DONE")
    assert fake_youtube.count("POST", "/upload/videos") == 2
    assert events.state(event_id) == "FINALIZING"
    assert cutters.stop(cutter) == 0


def test_killed_while_finalizing_asks_an_operator(events, cutters, base_dir, fake_youtube,
                                                  yt_config):
    conn = events.conn
    others = {}
    for state in ("CLAIMED", "FINALIZING"):
        other = edit(events, 14, 16, f"other {state}")
        database.query(conn, "UPDATE events SET state = %s, uploader = 'node2' WHERE id = %s",
                       state, other)
        others[other] = state
    fake_youtube.gate = threading.Event()  # every chunk waits: one chunk = the final one
    event_id = edit(events, 2, 3.5)
    first = cutters.start("node1", yt_config, base_dir)
    events.wait_state(event_id, "FINALIZING")
    cutters.stop(first, signal.SIGKILL)
    second = cutters.start("node1", yt_config, base_dir)
    row = wait_for(lambda: (lambda r: r if r.error else None)(events.get(event_id)),
                   message="the recovery error")
    assert row.state == "FINALIZING" and "stopped uncleanly while finalizing" in row.error
    fake_youtube.gate.set()
    cutters.stop(second)
    assert fake_youtube.count("POST", "/upload/videos") == 1
    for other, state in others.items():
        row = events.get(other)
        assert (row.state, row.uploader, row.error) == (state, "node2", None)


def test_video_gone_while_transcoding_is_noted(events, cutters, base_dir, fake_youtube,
                                               yt_config):
    fake_youtube.processing_polls = 10 ** 6
    event_id = edit(events, 3, 8)
    cutter = cutters.start("node1", yt_config, base_dir)
    row = events.wait_state(event_id, "TRANSCODING")
    del fake_youtube.videos[row.video_id]  # deleted at YouTube while processing
    row = wait_for(lambda: (lambda r: r if r.error else None)(events.get(event_id)),
                   message="a note on the event")
    assert row.state == "TRANSCODING" and f"does not list video {row.video_id}" in row.error
    assert cutters.stop(cutter) == 0
