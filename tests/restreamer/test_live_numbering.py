"""Live playlist numbering across hour and day boundaries: the real policy
(media_playlists.MediaPlaylists) on an archive with chosen arrival times, polled at simulated
times, then a real server: a segment keeps its MEDIA-SEQUENCE number
whatever the time of day, however it was counted (memoised or from scratch), and after the
hours before it are pruned."""

import os
import re
import shutil
from datetime import datetime, timedelta

import pytest

from common.segments import SegmentInfo
from restreamer import live
from restreamer.media_playlists import MediaPlaylists
from support.archive import write_segment
from common.dateutil import utcnow

TWO = timedelta(seconds=2)
HASH = "A" * 43
# Segments every 2 s from 22:59:59 on day 1 (so every hour boundary is straddled by one).
FIRST = datetime(2026, 3, 1, 22, 59, 59)
COUNT = 3 * 1800 + 300  # until 02:10 on day 2


def seg(start, type="full"):
    name = f"{start:%M:%S.%f}-2.000-{type}-{HASH}.ts"
    return SegmentInfo(f"/b/s/v/{start:%Y-%m-%dT%H}/{name}", "s", "v", start, TWO, type, HASH)


def archive():
    """-> (segments, arrival): holes, a partial one, and late ones (even across hours)."""
    segments, arrival = [], {}
    for i in range(COUNT):
        if i % 500 == 7:  # a hole
            continue
        s = seg(FIRST + i * TWO, "partial" if i % 700 == 3 else "full")
        segments.append(s)
        late = i % 600 == 11 or i == 1800  # 1800 starts at 23:59:59, straddling midnight
        arrival[s.path] = s.end + (timedelta(minutes=3) if late else timedelta(seconds=1))
    return segments, arrival


SEGMENTS, ARRIVAL = archive()
EPOCH = datetime(1970, 1, 1)


@pytest.fixture(scope="module")
def hours_path(tmp_path_factory):
    """SEGMENTS as files, each with its ARRIVAL as mtime. At a simulated `now`, a file that
    arrives later is on disk already, but it is late for every segment settled by then, so the
    live rules see what they would have seen at `now`."""
    base = str(tmp_path_factory.mktemp("numbering"))
    for s in SEGMENTS:
        path = os.path.join(base, s.path[1:].split("/", 1)[1])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()
        arrived = (ARRIVAL[s.path] - EPOCH).total_seconds()
        os.utime(path, (arrived, arrived))
    settle(os.path.join(base, "s", "v"))
    return os.path.join(base, "s", "v")


def settle(hours_path):
    """Date the directories back: facts of a directory changed within 2 s are not kept."""
    past = (utcnow() - timedelta(minutes=1) - EPOCH).total_seconds()
    for name in os.listdir(hours_path):
        os.utime(os.path.join(hours_path, name), (past, past))


def numbers(entries, sequence, disc, hours_path):
    """-> {HOUR/NAME: (media sequence number, discontinuity sequence number)}."""
    out, n, d = {}, sequence, disc
    for e in entries:
        if e is None:
            d += 1
            continue
        out[e.path[len(hours_path) + 1:]] = (n, d)
        n += 1
    return out


def check_polls(times, playlists, hours_path, seen):
    """Polls the real live playlist policy at simulated times: numbers never go back."""
    last_sequence = -1
    for now in times:
        entries, sequence, disc = playlists.live(hours_path, None, now)
        assert sequence >= last_sequence, f"MEDIA-SEQUENCE went back at {now}"
        last_sequence = sequence
        for path, number in numbers(entries, sequence, disc, hours_path).items():
            assert seen.setdefault(path, number) == number, f"{path} renumbered at {now}"


def test_numbering_is_consistent_across_hours_midnight_and_0100(hours_path):
    base = os.path.dirname(os.path.dirname(hours_path))
    playlists, seen = MediaPlaylists(base, sidecars=False), {}
    # Polled every 3 s across midnight (a day boundary) and across 01:00 UTC, where the
    # numbering used to restart: the same segment keeps its numbers, they never decrease.
    start = datetime(2026, 3, 1, 23, 57)
    check_polls([start + k * timedelta(seconds=3) for k in range(100)], playlists, hours_path,
                seen)
    start = datetime(2026, 3, 2, 0, 58)
    check_polls([start + k * timedelta(seconds=3) for k in range(100)], playlists, hours_path,
                seen)
    # Each segment's number is the count of on-time segments before it since the origin.
    on_time = [s.path[len("/b/s/v/"):] for s in SEGMENTS
               if ARRIVAL[s.path] <= s.end + live.SETTLE]
    assert len(seen) > 200
    assert all(seen[path][0] == i for i, path in enumerate(on_time) if path in seen)
    # A fresh process numbers them the same: counting from scratch, or from the sidecars
    # the first one wrote.
    for sidecars in (False, True, True):
        for now in (datetime(2026, 3, 2, 0, 0, 40), datetime(2026, 3, 2, 1, 2, 7)):
            entries, sequence, disc = MediaPlaylists(base, sidecars).live(hours_path, None, now)
            for path, number in numbers(entries, sequence, disc, hours_path).items():
                assert seen[path] == number


def test_memo_keeps_numbers_when_old_hours_are_pruned(hours_path, tmp_path):
    copy = os.path.join(str(tmp_path), "s", "v")
    shutil.copytree(hours_path, copy)  # (copy2 keeps the mtimes)
    settle(copy)
    playlists, seen = MediaPlaylists(str(tmp_path)), {}
    start = datetime(2026, 3, 2, 1, 0)
    check_polls([start + k * timedelta(seconds=5) for k in range(20)], playlists, copy, seen)
    for hour in ("2026-03-01T22", "2026-03-01T23"):
        shutil.rmtree(os.path.join(copy, hour))
    check_polls([start + k * timedelta(seconds=5) for k in range(20, 40)], playlists, copy, seen)
    assert len(seen) > 30


def test_window_reaches_back_over_empty_hours(hours_path):
    """An idle stream: the window is the last segments, hours back; numbers are unchanged."""
    base = os.path.dirname(os.path.dirname(hours_path))
    playlists = MediaPlaylists(base, sidecars=False)
    now = datetime(2026, 3, 2, 2, 11, 30)  # after the last segment
    before = numbers(*playlists.live(hours_path, None, now), hours_path)
    later = now + timedelta(hours=5)
    for playlists in (playlists, MediaPlaylists(base, sidecars=False)):
        assert numbers(*playlists.live(hours_path, None, later), hours_path) == before


# --- a real server ---------------------------------------------------------------------------------

def add(base, start):
    path = write_segment(base, "s", "live", start, TWO, f"segment {start}".encode() * 20)
    arrived = (start + TWO + timedelta(seconds=1) - datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (arrived, arrived))
    return path


def media_sequence(response):
    assert response.status_code == 200, response.text
    return int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", response.text).group(1))


def test_start_less_live_playlist_counts_from_a_fixed_origin(tmp_path, restreamer_factory):
    """Numbers do not depend on the day: yesterday's segments count (the numbering used to
    restart at 01:00 UTC each day); a restarted server numbers the same; pruning the old hour
    does not renumber what a running server already numbered."""
    base = str(tmp_path)
    now = utcnow().replace(microsecond=0)
    old = now - timedelta(hours=30)
    for i in range(10):
        add(base, old + i * TWO)
    recent = now - timedelta(minutes=3)
    for i in range(40):
        add(base, recent + i * TWO)
    server = restreamer_factory(base)
    sequence = media_sequence(server.get("/playlist/s/live.m3u8"))
    assert sequence == 10 + 40 - 30
    since = (old - timedelta(minutes=1)).isoformat()
    assert media_sequence(server.get(f"/playlist/s/live.m3u8?start={since}Z")) == sequence
    assert media_sequence(restreamer_factory(base).get("/playlist/s/live.m3u8")) == sequence
    for hour in {f"{old + i * TWO:%Y-%m-%dT%H}" for i in range(10)}:  # one or two hours
        shutil.rmtree(os.path.join(base, "s", "live", hour))
    assert media_sequence(server.get("/playlist/s/live.m3u8")) == sequence


def test_numbers_stay_when_everything_before_a_closed_window_is_pruned(tmp_path):
    """The window lies in a closed hour (its segments ended minutes ago, in the previous hour)
    and every hour before it is pruned: the memoised count of that hour keeps the numbers."""
    hours_path = os.path.join(str(tmp_path), "s", "v")
    old, recent = datetime(2026, 3, 1, 10, 20), datetime(2026, 3, 2, 13, 58)
    for start in [old + i * TWO for i in range(10)] + [recent + i * TWO for i in range(40)]:
        path = os.path.join(hours_path, f"{start:%Y-%m-%dT%H}",
                            f"{start:%M:%S.%f}-2.000-full-{HASH}.ts")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()
        arrived = (start + TWO + timedelta(seconds=1) - EPOCH).total_seconds()
        os.utime(path, (arrived, arrived))
    settle(hours_path)
    playlists = MediaPlaylists(str(tmp_path))
    now = datetime(2026, 3, 2, 14, 2)  # 13:00 is closed
    entries, sequence, _ = playlists.live(hours_path, None, now)
    assert sequence == 10 + 40 - 30
    shutil.rmtree(os.path.join(hours_path, "2026-03-01T10"))
    assert playlists.live(hours_path, None, now + TWO)[:2] == (entries, sequence)
