"""Origin faults, each against the real live origin: broken, slow and empty bodies, expired
media playlists, an offline master, ads, stream end and restart, overlapping workers."""

import os
import time
from datetime import timedelta

import gevent
from prometheus_client import REGISTRY

from common.dateutil import utcnow
from common.segments import format_segment_path

from support.hls_origin import archived
from support.waiting import wait_for


def origin_bytes(origin, variant, seq):
    with open(origin.history[variant][seq][2], "rb") as f:
        return f.read()


def at(origin, seq, variant=0):
    """The PDT (segment start) the origin gave segment seq."""
    return origin.wait_for_seq(seq, variant)[0]


def of_type(base, start, type, variant="source"):
    return [s for s in archived(base, "test", variant) if s.start == start and s.type == type]


def test_cut_connection_keeps_partial_then_gets_full(hls_origin, channel, run_downloader,
        tmp_path):
    base = str(tmp_path / "archive")
    seq = hls_origin.next_seq() + 1
    channel.fault(seq, "cut", variant=0)
    run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    start = at(hls_origin, seq)
    full = wait_for(lambda: of_type(base, start, "full"), 10, "the full copy after a retry")
    partial = of_type(base, start, "partial")
    assert len(partial) == 1
    data = origin_bytes(hls_origin, 0, seq)
    with open(partial[0].path, "rb") as f:
        got = f.read()
    assert got == data[:len(data) // 2]   # exactly the bytes that arrived
    with open(full[0].path, "rb") as f:
        assert f.read() == data
    assert channel.segment_requests(0)[(0, seq)] == 2


def test_segment_404_is_not_retried_and_endless_failures_stop_at_the_deadline(hls_origin,
        channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    seq = hls_origin.next_seq() + 1
    channel.fault(seq, "404", variant=0)
    channel.fault(seq + 1, "cut", variant=0, times=1000)
    run_downloader(channel.master_url, base_dir=base, qualities=["source"], retry_deadline=1.5,
        first_retry_delay=0.2)
    wait_for(lambda: at(hls_origin, seq + 3) in full_starts(base), 10, "capture to go on")
    requests = lambda s: channel.segment_requests(0).get((0, s), 0)  # noqa: E731
    assert requests(seq) == 1     # gone is gone: no retry
    assert not [s for s in archived(base, "test", "source") if s.start == at(hls_origin, seq)]
    # The broken one is retried with backoff until the deadline, then given up on.
    wait_for(lambda: requests(seq + 1) >= 3, 5, "retries of the broken segment")

    def settled():
        before = requests(seq + 1)
        gevent.sleep(1)   # longer than the largest retry delay the deadline allows
        return before == requests(seq + 1) and before

    given_up = wait_for(settled, 10, "retries to stop at the deadline")
    assert 3 <= given_up <= 8
    partials = of_type(base, at(hls_origin, seq + 1), "partial")
    assert partials and not of_type(base, at(hls_origin, seq + 1), "full")


def test_slow_and_empty_bodies_are_suspect(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    seq = hls_origin.next_seq() + 1
    channel.slow_seconds = 3
    channel.fault(seq, "slow", variant=0)
    channel.fault(seq + 1, "empty", variant=0)
    run_downloader(channel.master_url, base_dir=base, qualities=["source"], suspect_after=2)
    slow_start, empty_start = at(hls_origin, seq), at(hls_origin, seq + 1)
    slow = wait_for(lambda: of_type(base, slow_start, "suspect"), 10, "the slow segment")
    with open(slow[0].path, "rb") as f:
        assert f.read() == origin_bytes(hls_origin, 0, seq)
    empty = wait_for(lambda: of_type(base, empty_start, "suspect"), 10, "the empty segment")
    assert empty[0].duration == hls_origin.history[0][seq + 1][1]
    with open(empty[0].path, "rb") as f:
        assert f.read() == b""
    # Neither was stored as full, and the next segment is normal.
    assert not of_type(base, slow_start, "full") and not of_type(base, empty_start, "full")
    wait_for(lambda: of_type(base, at(hls_origin, seq + 2), "full"), 10, "the next segment")


def full_starts(base, variant="source"):
    return {s.start for s in archived(base, "test", variant) if s.type == "full"}


def test_media_playlist_403_switches_worker_without_loss(hls_origin, channel, run_downloader,
        tmp_path):
    base = str(tmp_path / "archive")
    first = hls_origin.next_seq()
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    wait_for(lambda: at(hls_origin, first + 1) in full_starts(base), 10, "capture to start")
    old_worker = manager.workers["source"][0]
    channel.forbid_media_playlists()
    switched = hls_origin.next_seq()
    wait_for(lambda: old_worker.greenlet.dead, 10, "the old worker to be retired")
    [new_worker] = manager.workers["source"]
    assert new_worker is not old_worker and "/g2/" in new_worker.url
    assert any(r[:2] == ("playlist", 0) and r[3] == 1 and r[4] == 403 for r in channel.requests)
    last = switched + 3
    wait_for(lambda: at(hls_origin, last) in full_starts(base), 10, "capture after the switch")
    starts = full_starts(base)
    missing = [seq for seq in range(first, last + 1) if at(hls_origin, seq) not in starts]
    assert missing == []


def test_segment_whose_url_expired_with_its_worker_is_fetched_from_the_new_one(hls_origin,
        channel, run_downloader, tmp_path):
    """The old worker's URLs expire (403) while one of its segments waits for a retry: the
    new worker's URL for that segment must be used, not the segment lost."""
    base = str(tmp_path / "archive")
    seq = hls_origin.next_seq() + 1
    channel.fault(seq, "cut", variant=0)
    run_downloader(channel.master_url, base_dir=base, qualities=["source"],
        first_retry_delay=2)
    start = at(hls_origin, seq)
    wait_for(lambda: of_type(base, start, "partial"), 10, "the first, broken transfer")
    channel.forbid_media_playlists(segments=True)
    full = wait_for(lambda: of_type(base, start, "full"), 10, "a full copy via the new URL")
    with open(full[0].path, "rb") as f:
        assert f.read() == origin_bytes(hls_origin, 0, seq)
    outcomes = [(r[3], r[5]) for r in channel.requests if r[:3] == ("segment", 0, seq)]
    assert outcomes == [(1, "cut"), (1, "forbidden"), (2, "ok")]


def test_restart_does_not_fetch_segments_already_stored_full(hls_origin, channel,
        run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    first = hls_origin.next_seq()
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    wait_for(lambda: at(hls_origin, first + 1) in full_starts(base), 10, "capture to start")
    manager.stop(timeout=5)
    manager.greenlet.kill()
    stored = {seq for seq in hls_origin.history[0] if at(hls_origin, seq) in full_starts(base)}
    restarted = hls_origin.next_seq()
    run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    wait_for(lambda: at(hls_origin, restarted) in full_starts(base), 10, "capture after restart")
    # The restarted downloader's first playlist still listed what the first one stored.
    requests = channel.segment_requests(0)
    assert {seq: requests[(0, seq)] for seq in stored} == {seq: 1 for seq in stored}


def test_master_404_is_offline_until_it_returns(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    channel.master_missing = True
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"],
        offline_poll_interval=0.5)
    wait_for(lambda: sum(1 for r in channel.requests if r[0] == "master") >= 3, 5,
        "repeated master polls while offline")
    assert manager.live is False and not manager.greenlet.dead
    assert archived(base, "test", "source") == []
    channel.master_missing = False
    back = hls_origin.next_seq()
    wait_for(lambda: at(hls_origin, back + 1) in full_starts(base), 10, "capture once back")
    assert manager.live is True


def ad_count(variant="source"):
    return REGISTRY.get_sample_value("downloader_ad_segments_skipped_total",
        {"stream": "test", "variant": variant}) or 0


def test_ads_are_not_written(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    seq = hls_origin.next_seq() + 1
    channel.mark_ads([seq, seq + 1], "daterange")
    channel.mark_ads([seq + 2], "title")
    before = ad_count()
    run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    wait_for(lambda: at(hls_origin, seq + 3) in full_starts(base), 10, "the segment after ads")
    starts = {s.start for s in archived(base, "test", "source")}
    assert at(hls_origin, seq - 1) in starts
    for ad in (seq, seq + 1, seq + 2):
        assert at(hls_origin, ad) not in starts
    assert ad_count() - before == 3


def test_endlist_then_restart_resumes(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"],
        offline_poll_interval=0.5)
    wait_for(lambda: full_starts(base), 10, "capture to start")
    channel.end()
    ended_at = max(channel.frozen_seqs(0))
    wait_for(lambda: not manager.workers.get("source"), 5, "the worker to stop at ENDLIST")
    # While ended: polled again (a new worker sees ENDLIST and stops), nothing new stored.
    polls = len(channel.requests)
    wait_for(lambda: sum(1 for r in channel.requests[polls:] if r[0] == "playlist") >= 2, 5,
        "the ended stream to be polled again")
    assert max(full_starts(base)) == at(hls_origin, ended_at)
    assert not manager.greenlet.dead
    channel.restart()
    later = hls_origin.next_seq() + 1
    wait_for(lambda: at(hls_origin, later) in full_starts(base), 10, "capture after restart")


def test_overlapping_workers_fetch_each_segment_once(hls_origin, channel, run_downloader,
        tmp_path):
    base = str(tmp_path / "archive")
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    first = wait_for(lambda: manager.workers.get("source"), 5, "a worker")[0]
    wait_for(lambda: len(full_starts(base)) >= 2, 10, "capture to start")
    before = duplicates_skipped()
    manager.trigger_new_worker(first)   # as if it had trouble: a second worker starts
    wait_for(lambda: first.greenlet.dead, 10, "the first worker to be retired")
    second = manager.workers["source"][0]
    assert second is not first
    # The new worker's first playlist overlapped what the old one had already fetched.
    assert duplicates_skipped() - before >= 3
    later = hls_origin.next_seq() + 1
    wait_for(lambda: at(hls_origin, later) in full_starts(base), 10, "capture to go on")
    counts = channel.segment_requests(0)
    assert counts and set(counts.values()) == {1}


def duplicates_skipped():
    return REGISTRY.get_sample_value("downloader_duplicate_segments_skipped_total",
        {"stream": "test", "variant": "source"}) or 0


def test_master_refreshed_before_urls_expire(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    first = hls_origin.next_seq()
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"],
        master_max_age=1.5)
    original = wait_for(lambda: manager.workers.get("source"), 5, "a worker")[0]
    wait_for(lambda: original.greenlet.dead, 10, "the worker to be replaced after max age")
    assert sum(1 for r in channel.requests if r[0] == "master") >= 2
    last = hls_origin.next_seq() + 1
    wait_for(lambda: at(hls_origin, last) in full_starts(base), 10, "capture to go on")
    starts = full_starts(base)
    assert [seq for seq in range(first, last + 1) if at(hls_origin, seq) not in starts] == []


def test_stop_keeps_bytes_of_a_transfer_that_outlasts_the_stop_timeout(hls_origin, channel,
        run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    seq = hls_origin.next_seq() + 1
    channel.slow_seconds = 4
    channel.fault(seq, "slow", variant=0)
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    wait_for(lambda: any(r[2] == seq and r[5] == "slow" for r in channel.requests), 10,
        "the slow transfer to start")
    wait_for(lambda: [s for s in archived(base, "test", "source")
        if s.type == "temp" and s.start == at(hls_origin, seq) and os.path.getsize(s.path) > 0],
        5, "some of its bytes to arrive")
    manager.stop(timeout=0.2)
    kept = of_type(base, at(hls_origin, seq), "partial")
    assert len(kept) == 1 and 0 < os.path.getsize(kept[0].path) < len(origin_bytes(hls_origin, 0, seq))
    assert not [s for s in archived(base, "test", "source") if s.type == "temp"]


def test_leftover_temp_files_recovered_at_start(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    start = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    # What a downloader killed mid-segment leaves behind.
    temp = format_segment_path(base, "test", "source", start, timedelta(seconds=2), "temp",
        "deadwriter")
    os.makedirs(os.path.dirname(temp))
    with open(temp, "wb") as f:
        f.write(b"bytes a dead downloader got")
    old = time.time() - 600
    os.utime(temp, (old, old))
    run_downloader(channel.master_url, base_dir=base, qualities=["source"])
    recovered = wait_for(lambda: of_type(base, start, "partial"), 5, "the temp file's recovery")
    with open(recovered[0].path, "rb") as f:
        assert f.read() == b"bytes a dead downloader got"
    assert not os.path.exists(temp)


def test_young_leftover_temp_files_recovered_once_old_enough(hls_origin, channel,
        run_downloader, tmp_path):
    """A downloader killed and restarted at once leaves temp files too young to recover at
    start-up: they must still become partials later, not stay invisible for good."""
    base = str(tmp_path / "archive")
    start = utcnow().replace(microsecond=0) - timedelta(seconds=30)
    temp = format_segment_path(base, "test", "source", start, timedelta(seconds=2), "temp",
        "justdied")
    os.makedirs(os.path.dirname(temp))
    with open(temp, "wb") as f:
        f.write(b"bytes a downloader got just before it was killed")
    run_downloader(channel.master_url, base_dir=base, qualities=["source"],
        temp_min_age=timedelta(seconds=1), recovery_interval=0.2)
    recovered = wait_for(lambda: of_type(base, start, "partial"), 5, "the temp file's recovery")
    with open(recovered[0].path, "rb") as f:
        assert f.read() == b"bytes a downloader got just before it was killed"
    assert not os.path.exists(temp)


def test_missing_variant_is_not_fatal(hls_origin, channel, run_downloader, tmp_path, caplog):
    base = str(tmp_path / "archive")
    manager = run_downloader(channel.master_url, base_dir=base, qualities=["source", "1080p"],
        offline_poll_interval=0.5)
    wait_for(lambda: full_starts(base), 10, "the variant that exists to be captured")
    wait_for(lambda: sum(1 for r in channel.requests if r[0] == "master") >= 2, 5,
        "the master to be polled again for the missing variant")
    assert "1080p" in caplog.text and "not in the master playlist" in caplog.text
    assert not manager.greenlet.dead and list(manager.workers) == ["source"]
