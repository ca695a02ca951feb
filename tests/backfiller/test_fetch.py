"""Backfill passes over real HTTP against peers that misbehave on purpose (see conftest.FakePeer):
verification, skip rules, retries, concurrency bounds, local housekeeping."""

import errno
import logging
import os
import re
import shutil
import time
from datetime import timedelta

import gevent
import gevent.event
from prometheus_client import REGISTRY, CollectorRegistry

from common import segment_files
from common.dateutil import utcnow
from common.segments import hour_name, is_temp, name_hash, name_type, parse_segment_path
from support.archive import build_archive, write_segment

from backfiller import metrics
from backfiller.client import PeerClient, make_session
from backfiller.daemon import run_once
from backfiller.peers import peer_from_url
from backfiller.schedule import RECENT, SWEEP
from backfiller import worker as worker_module
from backfiller.worker import InFlight, PeerWorker, Settings

TWO = timedelta(seconds=2)


def hours_ago(n):
    return (utcnow() - timedelta(hours=n)).replace(minute=0, second=0, microsecond=0)


def settings(base, **kwargs):
    kwargs.setdefault("recent_cutoff", timedelta(0))
    return Settings(base_dir=str(base), **kwargs)


def client_factory(timeout=2, concurrency=5):
    session = make_session(concurrency)
    return lambda peer: PeerClient(peer, session, timeout=timeout, deadline=10 * timeout)


def metric(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def fetch_timing(peer):
    """(downloads timed, their total seconds, the sum of their seconds per byte)."""
    return [metric(f"backfiller_fetch_{name}", peer=peer) for name in (
        "latency_seconds_count", "latency_seconds_sum", "normalized_latency_seconds_sum")]


def names(base):
    found = set()
    for root, _, files in os.walk(base):
        found.update(os.path.relpath(os.path.join(root, f), base) for f in files)
    return found


def test_bad_copy_is_rejected_and_counted_and_a_good_copy_is_taken(tmp_path, fake_peer):
    start = hours_ago(3)
    good = build_archive(tmp_path / "good", "s", "source", start, 6, real=False)
    build_archive(tmp_path / "bad", "s", "source", start, 6, real=False)
    corrupt = {os.path.basename(good[1]), os.path.basename(good[4])}
    bad_peer = fake_peer(tmp_path / "bad", corrupt=corrupt)
    good_peer = fake_peer(tmp_path / "good")
    local = tmp_path / "local"
    bad = peer_from_url(bad_peer.url)
    before = metric("backfiller_hash_mismatches_total", peer=bad.name)
    rejected = metric("function_exceptions_total", function="backfiller_fetch",
                      exception="HashMismatch")
    timing_before = fetch_timing(bad.name)

    [result] = run_once(settings(local), [bad], client_factory())

    assert result.mismatches == 2 and result.failed
    assert metric("backfiller_hash_mismatches_total", peer=bad.name) == before + 2
    assert metric("function_exceptions_total", function="backfiller_fetch",
                  exception="HashMismatch") == rejected + 2
    # The four good copies are timed, per transfer and per byte.
    count, total, per_byte = [a - b for a, b in zip(fetch_timing(bad.name), timing_before)]
    assert count == 4
    assert 0 < per_byte <= total / min(os.path.getsize(p) for p in good) * 1.000001
    held = {os.path.basename(p) for p in names(local)}
    assert held == {os.path.basename(p) for p in good} - corrupt  # no temp files left either
    assert len(bad_peer.segment_requests()) == 6

    # Both peers, the bad one first: the two segments come from the good one, byte-exact.
    results = run_once(settings(local), [bad, peer_from_url(good_peer.url)], client_factory())
    assert sum(r.fetched for r in results) == 2
    for path in good:
        rel = os.path.relpath(path, tmp_path / "good")
        with open(path, "rb") as f, open(local / rel, "rb") as g:
            assert f.read() == g.read()
    assert len(names(local)) == 6


def test_temp_recent_unparseable_and_superseded_partials_are_not_copied(tmp_path, fake_peer):
    start = hours_ago(3)
    peer_dir, local = tmp_path / "peer", tmp_path / "local"
    fulls = build_archive(peer_dir, "s", "source", start, 4, real=False)
    hour_dir = peer_dir / "s" / "source" / hour_name(start)
    temp = write_segment(peer_dir, "s", "source", start + 4 * TWO, TWO, b"t", "temp", hash="tmp1")
    (hour_dir / "junk.ts").write_bytes(b"junk")
    (hour_dir / "10:00.000-2.000-full-nothash.ts").write_bytes(b"junk")
    # A partial where we hold a full (never copied), and one where we hold nothing (copied).
    superseded = write_segment(peer_dir, "s", "source", start, TWO, b"p0", "partial")
    wanted_partial = write_segment(peer_dir, "s", "source", start + 8 * TWO, TWO, b"p8", "partial")
    write_segment(local, "s", "source", start, TWO, b"ours", "full")
    # Too recent: started 10 s ago, with the default cutoff of 120 s.
    now = utcnow()
    recent = write_segment(peer_dir, "s", "source", now - timedelta(seconds=10), TWO, b"r")
    peer = fake_peer(peer_dir)
    before = metric("backfiller_segments_skipped_total", reason="superseded")

    [result] = run_once(settings(local, recent_cutoff=timedelta(seconds=120)),
                        [peer_from_url(peer.url)], client_factory())

    requested = {p.rsplit("/", 1)[1] for p in peer.segment_requests()}
    # Every full (the peer's full at `start` has other bytes than ours: copied too, so that
    # every node ends up choosing among the same copies) and the partial where we have nothing.
    expected = {os.path.basename(p) for p in fulls + [wanted_partial]}
    assert requested == expected
    for path in (temp, superseded, recent):
        assert os.path.basename(path) not in requested
    assert not result.failed and result.fetched == len(expected)
    assert metric("backfiller_segments_skipped_total", reason="superseded") == before + 1


def test_a_failed_segment_does_not_stop_the_hour_and_is_retried_next_pass(tmp_path, fake_peer):
    # Hour 5 h ago: outside what a recent pass looks at, so only the retry brings it back.
    start = hours_ago(5)
    paths = build_archive(tmp_path / "peer", "s", "source", start, 5, real=False)
    failing = os.path.basename(paths[2])
    peer = fake_peer(tmp_path / "peer", fail={failing})
    local = tmp_path / "local"
    worker = PeerWorker(peer_from_url(peer.url), client_factory()(peer_from_url(peer.url)),
                        settings(local), InFlight())

    first = worker.run_pass(SWEEP)
    assert first.fetched == 4 and first.errors == 1 and not first.aborted
    assert failing not in {os.path.basename(p) for p in names(local)}

    peer.fail.clear()
    second = worker.run_pass(RECENT)
    assert second.fetched == 1 and not second.failed
    assert len(names(local)) == 5
    seen = len(peer.requested)
    third = worker.run_pass(RECENT)  # nothing left to retry: the old hour is not listed again
    assert peer.requested[seen:] and not any(hour_name(start) in p
                                             for p in peer.requested[seen:])
    assert third.fetched == 0


def test_downloads_per_peer_are_bounded_by_concurrency(tmp_path, fake_peer):
    build_archive(tmp_path / "peer", "s", "source", hours_ago(3), 12, real=False)
    peer = fake_peer(tmp_path / "peer", delay=0.05)
    [result] = run_once(settings(tmp_path / "local", concurrency=3), [peer_from_url(peer.url)],
                        client_factory(concurrency=3))
    assert result.fetched == 12
    assert peer.max_active == 3


def test_streams_and_variants_are_discovered_or_restricted(tmp_path, fake_peer):
    start = hours_ago(3)
    for stream, variant in [("a", "source"), ("a", "480p"), ("b", "source")]:
        build_archive(tmp_path / "peer", stream, variant, start, 2, real=False)
    peer = peer_from_url(fake_peer(tmp_path / "peer").url)

    run_once(settings(tmp_path / "all"), [peer], client_factory())
    assert {p.split("/")[0] + "/" + p.split("/")[1] for p in names(tmp_path / "all")} == {
        "a/source", "a/480p", "b/source"}

    run_once(settings(tmp_path / "some", streams=["a"], variants=["480p"]), [peer],
             client_factory())
    assert {p.split("/")[1] for p in names(tmp_path / "some")} == {"480p"}
    assert len(names(tmp_path / "some")) == 2


def test_start_limits_what_is_fetched(tmp_path, fake_peer):
    old, new = hours_ago(10), hours_ago(2)
    build_archive(tmp_path / "peer", "s", "source", old, 2, real=False)
    build_archive(tmp_path / "peer", "s", "source", new, 2, real=False)
    peer = peer_from_url(fake_peer(tmp_path / "peer").url)
    run_once(settings(tmp_path / "local", start=timedelta(hours=5)), [peer], client_factory())
    assert {p.split("/")[2] for p in names(tmp_path / "local")} == {hour_name(new)}


def test_old_hours_are_pruned_and_never_fetched_back(tmp_path, fake_peer):
    old, new = hours_ago(10), hours_ago(2)
    for base in ("peer", "local"):
        build_archive(tmp_path / base, "s", "source", old, 2, real=False)
    build_archive(tmp_path / "peer", "s", "source", new, 2, real=False)
    (tmp_path / "local" / "s" / "source" / hour_name(old) / "notes.txt").write_text("keep me")
    peer = peer_from_url(fake_peer(tmp_path / "peer").url)
    run_once(settings(tmp_path / "local", delete_older_than=timedelta(hours=6)), [peer],
             client_factory())
    held = names(tmp_path / "local")
    assert f"s/source/{hour_name(old)}/notes.txt" in held  # not a segment: left alone
    assert {p.split("/")[2] for p in held if p.endswith(".ts")} == {hour_name(new)}


def test_leftover_temp_files_become_partials_at_start_up(tmp_path):
    start = hours_ago(3)
    local = tmp_path / "local"
    old_temp = write_segment(local, "s", "source", start, TWO, b"captured", "temp", hash="dead1")
    empty_temp = write_segment(local, "s", "source", start + TWO, TWO, b"", "temp", hash="dead2")
    fresh_temp = write_segment(local, "s", "source", start + 2 * TWO, TWO, b"x", "temp",
                               hash="live")
    ten_minutes_ago = time.time() - 600
    for path in (old_temp, empty_temp):
        os.utime(path, (ten_minutes_ago, ten_minutes_ago))

    run_once(settings(local), [], client_factory())

    infos = [parse_segment_path(os.path.join(local, p)) for p in names(local)]
    assert sorted((i.start, i.type) for i in infos) == [
        (start, "partial"), (start + 2 * TWO, "temp")]  # empty one deleted, young one kept
    assert os.path.exists(fresh_temp)


def test_daemon_recovers_temp_files_too_young_at_start_up_later(tmp_path):
    """A writer killed just before the daemon started leaves temp files too young to be sure
    of: the daemon must recover them once they are old enough, not leave them for good."""
    from backfiller.daemon import Backfiller

    class NoPeers:
        def read(self, strict=False):
            return []

    local = tmp_path / "local"
    temp = write_segment(local, "s", "source", hours_ago(1), TWO, b"captured", "temp",
                         hash="justdied")
    stop = gevent.event.Event()
    daemon = Backfiller(settings(local, temp_min_age=timedelta(seconds=1),
                                 sweep_interval=timedelta(seconds=0.2)),
                        NoPeers(), client_factory(), pass_interval=60, node_refresh=60)
    runner = gevent.spawn(daemon.run, stop)
    try:
        deadline = time.monotonic() + 5
        while os.path.exists(temp) and time.monotonic() < deadline:
            gevent.sleep(0.1)
    finally:
        stop.set()
        runner.join(5)
    assert not os.path.exists(temp)
    infos = [parse_segment_path(os.path.join(local, p)) for p in names(local)]
    assert [(i.start, i.type) for i in infos] == [(hours_ago(1), "partial")]


def temp_files(base):
    return [p for p in names(base) if is_temp(os.path.basename(p))]


def test_a_peer_trickling_bytes_is_cut_off_at_the_deadline(tmp_path, fake_peer):
    build_archive(tmp_path / "peer", "s", "source", hours_ago(3), 1, real=False)
    peer = fake_peer(tmp_path / "peer", trickle=0.2)  # never silent for 0.5 s, but 2 s in all
    session = make_session(5)
    client = PeerClient(peer_from_url(peer.url), session, timeout=0.5, deadline=1)
    started = time.monotonic()
    [result] = run_once(settings(tmp_path / "local"), [peer_from_url(peer.url)],
                        lambda p: client)
    assert time.monotonic() - started < 1.9
    assert result.errors == 1 and result.fetched == 0 and not result.aborted
    assert names(tmp_path / "local") == set()  # the temp file was deleted


def test_killing_a_pass_mid_download_leaves_no_temp_file(tmp_path, fake_peer):
    build_archive(tmp_path / "peer", "s", "source", hours_ago(3), 3, real=False)
    peer = fake_peer(tmp_path / "peer", trickle=0.3)
    job = gevent.spawn(run_once, settings(tmp_path / "local"), [peer_from_url(peer.url)],
                       client_factory())
    deadline = time.monotonic() + 10
    while not temp_files(tmp_path / "local"):
        assert time.monotonic() < deadline, "no download started"
        gevent.sleep(0.02)
    job.kill()
    assert names(tmp_path / "local") == set()


def test_an_empty_full_segment_is_stored_once_as_suspect(tmp_path, fake_peer):
    empty = write_segment(tmp_path / "peer", "s", "source", hours_ago(3), TWO, b"", "full")
    peer = fake_peer(tmp_path / "peer")
    worker = PeerWorker(peer_from_url(peer.url), client_factory()(peer_from_url(peer.url)),
                        settings(tmp_path / "local"), InFlight())
    assert worker.run_pass(SWEEP).fetched == 1
    [held] = names(tmp_path / "local")
    held = os.path.basename(held)
    assert name_type(held) == "suspect" and name_hash(held) == name_hash(os.path.basename(empty))
    assert worker.run_pass(SWEEP).fetched == 0
    assert len(peer.segment_requests()) == 1


def test_the_memory_of_settled_segments_is_bounded(tmp_path, fake_peer, monkeypatch):
    # Forgetting a settled segment costs one more fetch of it, never a second copy.
    monkeypatch.setattr(worker_module, "SETTLED_MEMORY", 2)
    for i in range(5):
        write_segment(tmp_path / "peer", "s", "source", hours_ago(3) + i * TWO, TWO, b"", "full")
    peer = fake_peer(tmp_path / "peer")
    worker = PeerWorker(peer_from_url(peer.url), client_factory()(peer_from_url(peer.url)),
                        settings(tmp_path / "local"), InFlight())
    assert worker.run_pass(SWEEP).fetched == 5
    assert len(worker.settled) == 2
    held = names(tmp_path / "local")
    assert len(held) == 5 and all("-suspect-" in name for name in held)
    assert worker.run_pass(SWEEP).fetched == 3
    assert names(tmp_path / "local") == held


def test_a_full_disk_is_logged_once_keeps_nothing_and_the_next_pass_fills_in(
        tmp_path, fake_peer, monkeypatch, caplog):
    # The full disk is injected at the writer (ENOSPC from its writes); peer and HTTP are real.
    build_archive(tmp_path / "peer", "s", "source", hours_ago(3), 6, real=False)
    full = {"on": True}
    real_write = segment_files.SegmentWriter.write

    def write(self, chunk):
        if full["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(self, chunk)

    monkeypatch.setattr(segment_files.SegmentWriter, "write", write)
    peer = fake_peer(tmp_path / "peer")
    worker = PeerWorker(peer_from_url(peer.url), client_factory()(peer_from_url(peer.url)),
                        settings(tmp_path / "local"), InFlight())
    with caplog.at_level(logging.INFO, logger="backfiller"):
        for _ in range(3):
            assert worker.run_pass(SWEEP).errors == 6
        assert names(tmp_path / "local") == set()
        full["on"] = False
        assert worker.run_pass(SWEEP).fetched == 6
    assert names(tmp_path / "local") == names(tmp_path / "peer")
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "disk full" in m]) == 1
    assert any("disk space is back" in m for m in messages)


def test_metric_labels_are_bounded(tmp_path, fake_peer):
    # Two streams, two hours, a mismatch and a failure: none of it may show up as a label value.
    for stream in ("a", "b"):
        for hours in (3, 4):
            build_archive(tmp_path / "peer", stream, "source", hours_ago(hours), 3, real=False)
    corrupt = {os.path.basename(p) for p in names(tmp_path / "peer")}
    peer = fake_peer(tmp_path / "peer", corrupt=set(list(corrupt)[:2]))
    run_once(settings(tmp_path / "local"), [peer_from_url(peer.url)], client_factory())
    allowed = {"peer", "kind", "reason", "result", "source", "le"}
    seen = 0
    for family in REGISTRY.collect():
        if not family.name.startswith("backfiller_"):
            continue
        for sample in family.samples:
            seen += 1
            assert set(sample.labels) <= allowed, sample
            assert not any(v in ("a", "b", "source") or ":" in v and "-" in v
                           for k, v in sample.labels.items() if k != "peer"), sample
    assert seen


def test_a_peer_that_stays_down_is_warned_about_once_then_its_return_noted(
        tmp_path, fake_peer, down_peer_url, caplog):
    build_archive(tmp_path / "peer", "s", "source", hours_ago(3), 2, real=False)
    peer = peer_from_url(down_peer_url)
    worker = PeerWorker(peer, client_factory()(peer), settings(tmp_path / "local"), InFlight())
    with caplog.at_level(logging.DEBUG, logger="backfiller"):
        for _ in range(3):
            assert worker.run_pass().aborted
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert "Connection refused" in warnings[0].getMessage()

    caplog.clear()
    fake_peer(tmp_path / "peer", port=int(down_peer_url.rsplit(":", 1)[1]))
    with caplog.at_level(logging.INFO, logger="backfiller"):
        result = worker.run_pass()
    assert result.fetched == 2 and not result.failed
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_a_long_pass_logs_progress_and_a_short_one_does_not(tmp_path, fake_peer, caplog):
    build_archive(tmp_path / "peer", "s", "source", hours_ago(3), 20, real=False)
    build_archive(tmp_path / "peer", "s", "source", hours_ago(2), 20, real=False)
    peer = fake_peer(tmp_path / "peer", delay=0.05)  # 40 segments, 2 at a time: about 1 s
    node = peer_from_url(peer.url)
    worker = PeerWorker(node, client_factory()(node),
                        settings(tmp_path / "local", concurrency=2, progress_interval=0.2),
                        InFlight())
    with caplog.at_level(logging.INFO, logger="backfiller"):
        result = worker.run_pass()
    assert result.fetched == 40 and not result.failed
    lines = [r.getMessage() for r in caplog.records if "catching up" in r.getMessage()]
    assert len(lines) >= 2, lines
    fetched = [int(re.search(r"fetched (\d+) of 40 segments", line).group(1)) for line in lines]
    assert fetched == sorted(fetched) and 0 < fetched[0] < 40
    for line in lines:
        done = int(re.search(r"fetched (\d+)", line).group(1))
        assert f", {40 - done} left" in line and "segments/s" in line and "to go" in line
    assert REGISTRY.get_sample_value("backfiller_segments_left", {"peer": node.name}) == 0
    assert REGISTRY.get_sample_value("backfiller_peer_reachable", {"peer": node.name}) == 1

    # A pass that is over within the interval says nothing of the kind.
    build_archive(tmp_path / "peer", "s", "source", hours_ago(1), 3, real=False)
    caplog.clear()
    worker.settings.progress_interval = 30
    with caplog.at_level(logging.INFO, logger="backfiller"):
        assert worker.run_pass().fetched == 3
    assert not [r for r in caplog.records if "catching up" in r.getMessage()]


def test_unreachable_peer_gauge_and_forgetting_a_peer(tmp_path, down_peer_url):
    node = peer_from_url(down_peer_url)
    worker = PeerWorker(node, client_factory()(node), settings(tmp_path / "local"), InFlight())
    assert worker.run_pass().aborted
    assert REGISTRY.get_sample_value("backfiller_peer_reachable", {"peer": node.name}) == 0
    metrics.forget_peer(node.name)
    assert REGISTRY.get_sample_value("backfiller_peer_reachable", {"peer": node.name}) is None


def test_filesystem_figures(tmp_path):
    registry = CollectorRegistry()
    metrics.export_filesystem(str(tmp_path), registry)
    size = registry.get_sample_value("segments_filesystem_size_bytes")
    avail = registry.get_sample_value("segments_filesystem_avail_bytes")
    usage = shutil.disk_usage(tmp_path)  # total, and free for unprivileged users
    assert size == usage.total
    # Other processes write to this disk meanwhile: close, not equal.
    assert abs(avail - usage.free) < 100_000_000 and 0 < avail < size
