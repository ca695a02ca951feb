"""Archives that arrived late (a node that backfilled its history): a long count never stalls the
server, live playlists list what was recorded on time, and their numbers survive restarts
(hour summaries persisted in sidecars)."""

import hashlib
import json
import os
import re
import shutil
from datetime import datetime, timedelta

import gevent
import pytest
import requests

from common.segments import format_segment_path, hash_name, hour_name
from restreamer import live
from restreamer.hour_facts import SIDECAR_DIR, HourFacts
from restreamer.media_playlists import MediaPlaylists
from common.dateutil import utcnow

TWO = timedelta(seconds=2)
EPOCH = datetime(1970, 1, 1)


def add(base, start, arrived=None, variant="v", type="full"):
    """A tiny segment file; arrived: its mtime (default: now, i.e. late for an old segment)."""
    data = f"{start.isoformat()} {type}".encode()
    path = format_segment_path(base, "s", variant, start, TWO, type,
                               hash_name(hashlib.sha256(data).digest()))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if arrived is not None:
        seconds = (arrived - EPOCH).total_seconds()
        os.utime(path, (seconds, seconds))
    return path


def on_time(start):
    return start + TWO + timedelta(seconds=1)


def sidecars(base):
    root = os.path.join(base, SIDECAR_DIR)
    found = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(".json"):
                path = os.path.join(dirpath, name)
                found[os.path.relpath(path, root)] = os.stat(path).st_mtime_ns
    return found


def settle_directories(base):
    """Date the hour directories a minute back, as if written then: within 2 s of a change a
    directory's facts are not kept (its mtime could hide a change made in the same tick)."""
    past = (utcnow() - timedelta(minutes=1) - EPOCH).total_seconds()
    variant = os.path.join(base, "s", "v")
    for name in os.listdir(variant):
        os.utime(os.path.join(variant, name), (past, past))


def media_sequence(response):
    assert response.status_code == 200, response.text
    return int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", response.text).group(1))


def listed_uris(response):
    return [line for line in response.text.splitlines() if line and not line.startswith("#")]


# --- a heavy request does not stall a small one ------------------------------------------------

@pytest.fixture(scope="module")
def backfilled_archive(tmp_path_factory):
    """120 hours of 600 segments each, every file written now: all of it arrived late. The
    directories are dated a minute back (settled), as after a backfill that ended then."""
    base = str(tmp_path_factory.mktemp("backfilled"))
    first = (utcnow() - timedelta(days=6)).replace(minute=0, second=0, microsecond=0)
    past = (utcnow() - timedelta(minutes=1) - EPOCH).total_seconds()
    for h in range(120):
        hour = first + h * live.HOUR
        for i in range(600):
            add(base, hour + i * TWO)
        os.utime(os.path.dirname(add(base, hour)), (past, past))
    return base


def test_small_request_is_answered_while_a_long_count_runs(backfilled_archive,
                                                           restreamer_factory, wait_for):
    """The first live playlist of a fresh server on a late archive counts 72,000 files; a
    /files request sent while it counts is answered before it finishes."""
    for attempt in range(3):  # (a starved test process may see the count end first: again)
        shutil.rmtree(os.path.join(backfilled_archive, ".restreamer"), ignore_errors=True)
        server = restreamer_factory(backfilled_archive)
        url = server.url
        heavy = gevent.spawn(requests.get, url("/playlist/s/v.m3u8"), timeout=120)
        # The count writes one sidecar per closed hour as it goes: once one is there, it runs.
        wait_for(lambda: sidecars(backfilled_archive) or heavy.ready(), timeout=60,
                 message="the live count to start", interval=0.005)
        if heavy.ready():
            continue
        small = requests.get(url("/files/s/v"), timeout=60)
        # The server's own progress says whether the count was still running: it writes the
        # last sidecar just before it answers (which response the client reads first is not
        # ordered when both arrive together).
        counted_by_then = len(sidecars(backfilled_archive))
        assert small.status_code == 200 and len(small.json()) == 120
        heavy.join(120)
        assert heavy.successful() and heavy.value.status_code == 200
        assert counted_by_then < 120, "the small request waited for the long count"
        assert len(sidecars(backfilled_archive)) == 120
        # Nothing was recorded on time: the live playlist is empty, numbered from 0.
        assert media_sequence(heavy.value) == 0 and listed_uris(heavy.value) == []
        return
    raise AssertionError("the count always finished before the small request could be sent")


# --- what a backfilled node lists live, and numbering across restarts -----------------------------

def test_backfilled_history_is_left_out_of_live_playlists_and_numbers_survive_restarts(
        tmp_path, restreamer_factory):
    base = str(tmp_path)
    now = utcnow().replace(microsecond=0)
    old = (now - timedelta(hours=30)).replace(minute=10, second=0)
    for i in range(10):  # recorded on time, 30 hours ago
        add(base, old + i * TWO, on_time(old + i * TWO))
    for i in range(10, 110):  # the rest of that hour came later, from a peer
        add(base, old + i * TWO)
    for h in range(2, 6):  # whole hours that arrived late
        for i in range(50):
            add(base, old + h * live.HOUR + i * TWO)
    recent = now - timedelta(minutes=3)
    for i in range(40):  # recorded now
        add(base, recent + i * TWO, on_time(recent + i * TWO))
    settle_directories(base)

    server = restreamer_factory(base)
    response = server.get("/playlist/s/v.m3u8")
    # Only on-time segments count and are listed: 10 + 40, the window shows the last 30.
    assert media_sequence(response) == 10 + 40 - 30
    uris = listed_uris(response)
    assert len(uris) == 30 and all(hour_name(recent)[:10] in u or hour_name(now)[:10] in u
                                   for u in uris)
    # Fixed-range playlists show what arrived late.
    fixed = server.get(f"/playlist/s/v.m3u8?start={old.isoformat()}&end="
                       f"{(old + timedelta(minutes=10)).isoformat()}")
    assert len(listed_uris(fixed)) == 110
    written = sidecars(base)
    assert f"s/v/{hour_name(old)}.json" in written and len(written) >= 5

    # A restarted server numbers the same, from the sidecars (none is rewritten).
    again = restreamer_factory(base).get("/playlist/s/v.m3u8")
    assert media_sequence(again) == media_sequence(response)
    assert listed_uris(again) == uris
    assert sidecars(base) == written

    # A peer backfills a hole of the old hour: its summary is recomputed, the numbers stay.
    add(base, old + 200 * TWO)
    settle_directories(base)
    assert media_sequence(server.get("/playlist/s/v.m3u8")) == media_sequence(response)
    restarted = restreamer_factory(base)
    assert media_sequence(restarted.get("/playlist/s/v.m3u8")) == media_sequence(response)
    assert sidecars(base)[f"s/v/{hour_name(old)}.json"] != written[f"s/v/{hour_name(old)}.json"]


# --- the sidecars ---------------------------------------------------------------------------------

def old_hour(base, hour, on_time_count, late_count):
    for i in range(on_time_count + late_count):
        start = hour + i * TWO
        add(base, start, on_time(start) if i < on_time_count else None)
    past = (utcnow() - timedelta(minutes=5) - EPOCH).total_seconds()
    hour_path = os.path.join(base, "s", "v", hour_name(hour))
    os.utime(hour_path, (past, past))  # settled: its facts are kept
    return hour_path


def test_hour_summary_is_persisted_and_checked_against_the_directory(tmp_path):
    base = str(tmp_path)
    hour = datetime(2026, 5, 1, 7)
    hour_path = old_hour(base, hour, 20, 5)
    facts = HourFacts(base)
    summary = facts.summary(os.path.join(base, "s", "v"), hour)
    assert summary.count == 20 and summary.first_start == hour and facts.computed == 1
    sidecar = facts.sidecar_path(hour_path)
    assert json.load(open(sidecar))["count"] == 20
    # A fresh process reads it instead of listing the hour.
    fresh = HourFacts(base)
    assert fresh.summary(os.path.join(base, "s", "v"), hour) == summary and fresh.computed == 0
    # A torn or foreign sidecar is recounted and rewritten.
    with open(sidecar, "w") as f:
        f.write('{"version": 1, "key": [')
    fresh = HourFacts(base)
    assert fresh.summary(os.path.join(base, "s", "v"), hour) == summary and fresh.computed == 1
    assert json.load(open(sidecar))["count"] == 20
    # A file added to the hour (on time, a copy from an earlier run) changes its key.
    add(base, hour + 30 * TWO, on_time(hour + 30 * TWO))
    past = (utcnow() - timedelta(minutes=4) - EPOCH).total_seconds()
    os.utime(hour_path, (past, past))
    fresh = HourFacts(base)
    assert fresh.summary(os.path.join(base, "s", "v"), hour).count == 21
    assert json.load(open(sidecar))["count"] == 21


def test_unwritable_sidecars_keep_summaries_in_memory(tmp_path, caplog):
    base = str(tmp_path)
    hour = datetime(2026, 5, 1, 7)
    old_hour(base, hour, 3, 0)
    with open(os.path.join(base, ".restreamer"), "w"):  # in the way (even for root)
        pass
    facts = HourFacts(base)
    hours_path = os.path.join(base, "s", "v")
    assert facts.summary(hours_path, hour).count == 3
    assert facts.summary(hours_path, hour).count == 3 and facts.computed == 1
    assert "cannot write live summaries" in caplog.text


def test_live_playlists_on_a_late_archive_list_only_what_is_recorded_now(tmp_path):
    """In process: a month-like layout (many late hours, then an on-time tail); a reload
    computes no closed hour again, and a fresh instance reads only sidecars."""
    base = str(tmp_path)
    now = utcnow().replace(microsecond=0)
    first = (now - timedelta(hours=40)).replace(minute=0, second=0)
    for h in range(38):
        old_hour(base, first + h * live.HOUR, 0, 30)
    tail = now - timedelta(minutes=2)
    for i in range(35):
        add(base, tail + i * TWO, on_time(tail + i * TWO))
    hours_path = os.path.join(base, "s", "v")
    playlists = MediaPlaylists(base)
    entries, sequence, _ = playlists.live(hours_path, None, now)
    assert sequence == 5 and len([e for e in entries if e]) == 30
    computed = playlists.facts.computed
    assert playlists.live(hours_path, None, now + TWO)[1] == 5
    assert playlists.facts.computed - computed <= 2  # only the open hour(s)
    fresh = MediaPlaylists(base)
    assert fresh.live(hours_path, None, now)[:2] == (entries, sequence)
    assert fresh.facts.computed <= 2
    # Pruned hours take their sidecars with them; the numbers stay (the memo).
    pruned = os.path.join(hours_path, hour_name(first))
    assert os.path.exists(fresh.facts.sidecar_path(pruned))
    for h in range(3):
        shutil.rmtree(os.path.join(hours_path, hour_name(first + h * live.HOUR)))
    assert fresh.live(hours_path, None, now + TWO)[1] == sequence
    assert not os.path.exists(fresh.facts.sidecar_path(pruned))
    old = {f"s/v/{hour_name(first + h * live.HOUR)}.json" for h in range(38)}
    assert old & set(sidecars(base)) == set(sorted(old)[3:])


def test_hour_listing_is_kept_until_the_directory_changes(tmp_path):
    from restreamer.listings import HourListings
    base = str(tmp_path)
    hour = datetime(2026, 5, 1, 7)
    segments = sorted(os.path.basename(add(base, hour + i * TWO)) for i in range(3))
    hour_path = os.path.join(base, "s", "v", hour_name(hour))
    for junk in ("notes.txt", f"00:09.000000-2.000-temp-{'x' * 8}.ts", ".hidden.ts"):
        open(os.path.join(hour_path, junk), "w").close()
    settle_directories(base)
    listings = HourListings()
    assert json.loads(listings.json(hour_path)) == segments
    assert listings.json(hour_path) is listings.json(hour_path)  # kept
    add(base, hour + 10 * TWO)
    assert len(json.loads(listings.json(hour_path))) == 4
    assert listings.json(os.path.join(base, "s", "v", "2026-05-01T08")) == "[]"
