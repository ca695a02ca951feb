"""A live run against the real origin: contiguous full segments matching the origin's PDTs."""

import hashlib
import os
import subprocess

from common.segments import get_best_segments, hash_name
from support.hls_origin import archived
from support.waiting import wait_for

VARIANTS = ("source", "90p")   # 320x180 is the highest bandwidth; 160x90 is named by height


def test_live_run_two_variants(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    first_seq = hls_origin.next_seq(0)
    manager = run_downloader(channel.master_url, base_dir=base)
    # Run live for 20 seconds of the origin's output.
    wait_for(lambda: hls_origin.last_seq(0) >= first_seq + 20, 40, "20 s of live stream")
    last_seq = hls_origin.last_seq(0) - 1   # allow the newest one time to land
    wait_for(lambda: all(
        any(s.type == "full" and s.start == hls_origin.history[v][last_seq][0]
            for s in archived(base, "test", name)) for v, name in enumerate(VARIANTS)),
        5, "the newest segments to be archived")
    # Stop first: a segment still being fetched is a temp file, which is not a defect.
    manager.stop(timeout=5)
    for v, name in enumerate(VARIANTS):
        segments = [s for s in archived(base, "test", name) if s.type == "full"]
        assert not [s for s in archived(base, "test", name) if s.type != "full"]
        by_start = {s.start: s for s in segments}
        expected = [hls_origin.history[v][seq] for seq in range(first_seq, last_seq + 1)]
        assert len(expected) >= 15
        for pdt, duration, origin_path in expected:
            segment = by_start[pdt]       # start = the origin's PDT, exactly
            assert segment.duration == duration
            with open(segment.path, "rb") as f:
                data = f.read()
            assert hash_name(hashlib.sha256(data).digest()) == segment.hash
            with open(origin_path, "rb") as f:
                assert f.read() == data
        start, end = expected[0][0], expected[-1][0] + expected[-1][1]
        best = get_best_segments(os.path.join(base, "test", name), start, end)
        assert None not in best
        assert best[0].start == start and best[-1].end == end
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type",
            "-of", "csv=p=0", segments[len(segments) // 2].path], capture_output=True, text=True)
        assert probe.returncode == 0 and "video" in probe.stdout and "audio" in probe.stdout
    assert manager.live
