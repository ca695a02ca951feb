"""Several cutters, one archive: each event uploaded exactly once, also across a SIGKILL."""

import os
import signal


from cutter_testing import T0, Fifo, ffprobe_duration, seconds, segment_path, videos, wait_for


def test_five_cutters_five_events_each_uploaded_once(events, cutters, base_dir, tmp_path):
    out = tmp_path / "videos"
    config = cutters.local_config(out, write_info=True, container="mpegts")
    ids = [events.create_edited(T0 + seconds(2 + 3 * i), T0 + seconds(4 + 3 * i),
                                title=f"Event {i}", cut_type="rough") for i in range(5)]
    procs = [cutters.start(f"node{i}", config, base_dir) for i in range(5)]
    rows = [events.wait_state(event_id, "DONE", timeout=60) for event_id in ids]
    assert len({row.video_id for row in rows}) == 5
    files = videos(out)
    assert files == sorted(f"{row.video_id}.ts" for row in rows)
    for row in rows:
        assert row.uploader in {f"node{i}" for i in range(5)}
        assert (out / f"{row.video_id}.json").read_text().count(row.video_title) == 1
    for proc in procs:
        assert cutters.stop(proc) == 0


def test_cutter_killed_mid_cut_cuts_once_after_restart(events, cutters, base_dir, tmp_path):
    out = tmp_path / "videos"
    config = cutters.local_config(out)
    fifo = Fifo(segment_path(base_dir, 4))
    start, end = T0 + seconds(6.5), T0 + seconds(11)
    event_id = events.create_edited(start, end, cut_type="fast")
    first = cutters.start("node1", config, base_dir)
    events.wait_state(event_id, "CLAIMED")
    # It cannot get past the pipe: it is cutting, and nothing is official yet.
    assert events.state(event_id) == "CLAIMED" and videos(out) == []
    cutters.stop(first, signal.SIGKILL)
    fifo.restore()  # also ends the killed cutter's orphaned ffmpeg
    second = cutters.start("node1", config, base_dir)
    row = events.wait_state(event_id, "DONE")
    assert videos(out) == [f"{row.video_id}.mp4"]
    assert abs(ffprobe_duration(out / videos(out)[0]) - 4.5) <= 1 / 30
    assert "was CLAIMED by us when we last stopped" in cutters.log(second)
    assert cutters.stop(second) == 0


def test_reedit_during_cut_is_abandoned_and_new_edit_uploaded(events, cutters, base_dir,
                                                              tmp_path):
    out = tmp_path / "videos"
    config = cutters.local_config(out, write_info=True)
    fifo = Fifo(segment_path(base_dir, 4))
    # The pipe is the tail edge: ffprobe (a subprocess) blocks on it, the cutter does not.
    event_id = events.create_edited(T0 + seconds(7), T0 + seconds(9.5), title="Old",
                                    cut_type="fast")
    cutter = cutters.start("node1", config, base_dir)
    events.wait_state(event_id, "CLAIMED")
    # Re-edit while the cut is stuck on the pipe: the cutter notices and drops the job.
    new_start, new_end = T0 + seconds(12), T0 + seconds(17.5)
    events.edit(event_id, new_start, new_end, title="New", cut_type="fast")
    wait_for(lambda: "abandoned" in cutters.log(cutter), message="the job to be abandoned")
    fifo.restore()
    row = events.wait_state(event_id, "DONE")
    assert row.video_title == "New"
    files = videos(out)
    assert files == [f"{row.video_id}.mp4"]
    assert abs(ffprobe_duration(out / files[0]) - 5.5) <= 1 / 30
    assert '"title": "New"' in (out / f"{row.video_id}.json").read_text()
    assert cutters.stop(cutter) == 0


def test_sigterm_mid_cut_hands_the_event_back(events, cutters, base_dir, tmp_path):
    out = tmp_path / "videos"
    fifo = Fifo(segment_path(base_dir, 4))
    event_id = events.create_edited(T0 + seconds(7), T0 + seconds(9.5), cut_type="fast")
    cutter = cutters.start("node1", cutters.local_config(out), base_dir)
    events.wait_state(event_id, "CLAIMED")
    assert cutters.stop(cutter) == 0
    row = events.get(event_id)
    assert (row.state, row.uploader, row.error) == ("EDITED", None, None)
    assert not out.exists() or os.listdir(out) == []  # no temp file left either
    assert "handed back (EDITED)" in cutters.log(cutter)
    fifo.restore()
