"""A live origin without EXT-X-PROGRAM-DATE-TIME (ffmpeg without the program_date_time flag):
the timeline is anchored on the clock, carried on by EXTINF, kept across a restart, and shared
by two nodes, so the real backfiller can fill one node's hole from the other."""

import hashlib
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from common.segments import SelectionStats, get_best_segments
from support.hls_origin import HLSOrigin
from support.restreamer_process import Restreamer
from support.stream_checks import assert_all_decode, assert_no_duplicate_bytes, read, stored
from support.waiting import wait_for

# How far a clock anchor may lie from when the origin published the segment: the playlist is
# read within a poll of it being written, and the watcher notices it within 50 ms.
CLOCK_SLACK = timedelta(seconds=1.5)


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    origin = HLSOrigin(tmp_path_factory.mktemp("no_pdt_origin"), sizes=((160, 90),),
                       program_date_time=False).start()
    assert all(pdt is None for pdt, _, _ in origin.history[0].values())
    yield origin
    origin.stop()


def origin_segments(origin):
    """{sha256 of the bytes: seq} of every segment the origin published."""
    return {hashlib.sha256(read(path)).hexdigest(): seq
            for seq, (_, _, path) in origin.history[0].items()}


def count_at_least(base, n):
    return lambda: len(stored(base, "test", "source")) >= n


def check_timeline(origin, segments):
    """Each stored segment is an origin segment with its EXTINF duration, started about when
    the origin published it, and consecutive ones join exactly."""
    seqs = origin_segments(origin)
    previous = None
    for segment in segments:
        seq = seqs[hashlib.sha256(read(segment.path)).hexdigest()]
        _, duration, _ = origin.history[0][seq]
        assert segment.duration == duration
        published = origin.details[0][seq].appeared
        assert abs(segment.start + duration - published) < CLOCK_SLACK
        if previous is not None and seqs[hashlib.sha256(read(previous.path)).hexdigest()] \
                == seq - 1:
            assert segment.start == previous.end
        previous = segment


def test_anchored_on_the_clock_and_kept_across_a_restart(origin, run_downloader, tmp_path):
    channel = origin.channel()
    base = str(tmp_path / "archive")
    manager = run_downloader(channel.master_url, base_dir=base)
    wait_for(count_at_least(base, 4), 15, "4 segments")
    manager.stop(timeout=5)
    # Restarted while the playlist still lists what it stored: it must name it alike.
    restart_seq = origin.next_seq()
    origin.wait_for_seq(restart_seq + 1)
    manager = run_downloader(channel.master_url, base_dir=base)
    wait_for(lambda: origin.last_seq() >= restart_seq + 4, 15, "4 more segments")
    wait_for(count_at_least(base, len(origin.history[0]) - 1), 10, "the restart's segments")
    manager.stop(timeout=5)

    segments = stored(base, "test", "source")
    assert [s for s in stored(base, "test", "source", ("partial", "suspect", "temp"))] == []
    stats = SelectionStats()
    best = get_best_segments(os.path.join(base, "test", "source"), segments[0].start,
                             segments[-1].end, stats=stats)
    assert None not in best and stats.overlaps == 0
    assert [s.path for s in best] == [s.path for s in segments]
    assert len(segments) >= 8
    check_timeline(origin, segments)
    assert_all_decode(segments, ["audio", "video"])
    assert_no_duplicate_bytes(segments)


def test_two_nodes_give_the_same_bytes_the_same_name_and_backfill_a_hole(
        origin, run_downloader, tmp_path):
    channel = origin.channel()
    a_base, b_base = str(tmp_path / "a"), str(tmp_path / "b")
    a = run_downloader(channel.master_url, base_dir=a_base)
    os.makedirs(b_base)
    servers = [Restreamer(a_base), Restreamer(b_base)]
    try:
        a_server = servers[0].wait_ready()
        wait_for(count_at_least(a_base, 2), 15, "node A's first segments")
        b_first = origin.next_seq() + 1
        origin.wait_for_seq(b_first)  # node B starts a couple of seconds later
        b = run_downloader(channel.master_url, base_dir=b_base, peers=[a_server.url])
        wait_for(lambda: origin.last_seq() >= b_first + 4, 15, "4 more segments")
        wait_for(lambda: len(stored(b_base, "test", "source")) >= 7, 10, "node B's segments")
        a.stop(timeout=5)
        b.stop(timeout=5)

        a_segments = stored(a_base, "test", "source")
        b_segments = stored(b_base, "test", "source")
        a_names = {s.hash: os.path.relpath(s.path, a_base) for s in a_segments}
        b_names = {s.hash: os.path.relpath(s.path, b_base) for s in b_segments}
        shared = sorted(set(a_names) & set(b_names), key=lambda h: a_names[h])
        assert len(shared) >= 6
        assert {a_names[h] for h in shared} == {b_names[h] for h in shared}  # same names
        check_timeline(origin, b_segments)

        # Lose one of A's segments in the middle; A's backfiller takes it from B.
        victim = a_names[shared[len(shared) // 2]]
        os.remove(os.path.join(a_base, victim))
        b_server = servers[1].wait_ready()
        run = subprocess.run([sys.executable, "-m", "backfiller", "--base-dir", a_base,
                              "--run-once", "--recent-cutoff", "0", "--localhost", "node-a",
                              "--node", b_server.url], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert os.path.exists(os.path.join(a_base, victim))
        a_segments = stored(a_base, "test", "source")
        stats = SelectionStats()
        best = get_best_segments(os.path.join(a_base, "test", "source"),
                                 a_segments[0].start, a_segments[-1].end, stats=stats)
        assert None not in best and stats.overlaps == 0
        assert len(best) == len(a_segments)
        assert_no_duplicate_bytes(a_segments)
        assert_all_decode([s for s in a_segments if s.hash in shared], ["audio", "video"])
    finally:
        for server in servers:
            server.stop()


def test_two_nodes_anchoring_at_the_same_moment_settle_on_one_timeline(
        origin, run_downloader, tmp_path):
    channel = origin.channel()
    bases = [str(tmp_path / name) for name in ("a", "b")]
    for base in bases:
        os.makedirs(base)
    servers = [Restreamer(base) for base in bases]
    try:
        for server in servers:
            server.wait_ready()
        # Both read the first playlist within milliseconds: neither finds a copy anywhere,
        # and their clock anchors differ by those milliseconds.
        first = origin.next_seq()
        for base, peer in zip(bases, reversed(servers)):
            run_downloader(channel.master_url, base_dir=base, peers=[peer.url])
        origin.wait_for_seq(first + 5)
        wait_for(lambda: all(len(stored(base, "test", "source")) >= 8 for base in bases), 10,
                 "segments on both nodes")
        names = [{s.hash: os.path.relpath(s.path, base) for s in stored(base, "test", "source")}
                 for base in bases]
        shared = set(names[0]) & set(names[1])
        assert len(shared) >= 6
        assert {names[0][h] for h in shared} == {names[1][h] for h in shared}
        for base in bases:
            segments = stored(base, "test", "source")
            stats = SelectionStats()
            best = get_best_segments(os.path.join(base, "test", "source"), segments[0].start,
                                     segments[-1].end, stats=stats)
            assert None not in best and stats.overlaps == 0 and len(best) == len(segments)
            assert_no_duplicate_bytes(segments)
    finally:
        for server in servers:
            server.stop()
