"""An archive of real segments, an event EDITED with the CLI, a cutter process with the local
backend -> DONE, a video of the right length where the link points."""

import json
import os
import urllib.parse

import pytest
import requests

from cutter_testing import STREAM, T0, VARIANT, ffprobe_duration, seconds
from support.archive import build_separate_audio_archive
from support.waiting import free_port


def test_event_is_cut_and_uploaded(events, cutters, base_dir, tmp_path):
    out = tmp_path / "videos"
    config = cutters.local_config(out, write_info=True)
    start, end = T0 + seconds(3.5), T0 + seconds(9)
    event_id = events.create_edited(start, end, title="Highlight", tags="x,y", cut_type="fast")
    port = free_port()
    cutter = cutters.start("node1", config, base_dir, "--metrics-port", port)
    row = events.wait_state(event_id, "DONE")
    assert row.uploader == "node1" and row.error is None and row.upload_time
    path = urllib.parse.urlparse(row.video_link).path
    assert os.path.dirname(path) == str(out)
    assert os.path.basename(path) == f"{row.video_id}.mp4"
    assert abs(ffprobe_duration(path) - (end - start).total_seconds()) <= 1 / 30
    info = json.loads((out / f"{row.video_id}.json").read_text())
    assert info["title"] == "Highlight" and info["tags"] == ["x", "y"]
    assert sorted(os.listdir(out)) == sorted([f"{row.video_id}.mp4", f"{row.video_id}.json"])
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'cutter_uploads_total{location="archive",outcome="done"} 1.0' in metrics
    assert 'cutter_upload_normalized_latency_seconds_count{cut_type="fast",location="archive",' \
           'streamed="true"} 1.0' in metrics
    assert 'cut_normalized_latency_seconds_count{container="mp4",type="fast"} 1.0' in metrics
    # The other cut types' series exist from the start (at 0), so rate() counts a first job.
    assert 'cutter_upload_normalized_latency_seconds_count{cut_type="rough",location="archive",' \
           'streamed="true"} 0.0' in metrics
    assert 'cut_normalized_latency_seconds_count{container="mpegts",type="rough"} 0.0' in metrics
    assert 'cut_latency_seconds_count{container="mp4",type="full"} 0.0' in metrics
    assert cutters.stop(cutter) == 0


def test_full_cut_with_the_locations_encoding(events, cutters, base_dir, tmp_path):
    out = tmp_path / "videos"
    config = cutters.local_config(out, encode_args=[
        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"])
    start, end = T0 + seconds(5.25), T0 + seconds(8)
    event_id = events.create_edited(start, end)  # no cut type: encode_args make it full
    cutter = cutters.start("node1", config, base_dir)
    row = events.wait_state(event_id, "DONE")
    path = urllib.parse.urlparse(row.video_link).path
    assert abs(ffprobe_duration(path) - 2.75) <= 1 / 30
    assert "full cut, to archive" in cutters.log(cutter)
    assert cutters.stop(cutter) == 0


# A rough cut takes whole segments: those of 0-10 s for 1.5-9 s; the others are exact.
@pytest.mark.parametrize("cut_type, length", [("rough", 10), ("fast", 7.5), ("full", 7.5)])
def test_a_variant_with_separate_audio_is_cut_with_its_sound(events, cutters, tmp_path,
                                                             cut_type, length):
    base = tmp_path / "separate"
    build_separate_audio_archive(str(base), STREAM, VARIANT, T0, 6)
    out = tmp_path / "videos"
    start, end = T0 + seconds(1.5), T0 + seconds(9)
    event_id = events.create_edited(start, end, cut_type=cut_type)
    cutter = cutters.start("node1", cutters.local_config(out), base)
    row = events.wait_state(event_id, "DONE")
    path = urllib.parse.urlparse(row.video_link).path
    assert abs(ffprobe_duration(path, "v:0") - length) <= 1 / 30
    assert abs(ffprobe_duration(path, "a:0") - length) <= 3 * 1024 / 48000  # audio frames
    assert cutters.stop(cutter) == 0
