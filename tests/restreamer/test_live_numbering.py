"""Live playlist numbering across hour and day boundaries (live.live_window), with synthetic
segments and a simulated clock, then a real server: a segment keeps its MEDIA-SEQUENCE number
whatever the time of day, however it was counted (memoised or from scratch), and after the
hours before it are pruned."""

import os
import re
import shutil
from datetime import datetime, timedelta

from common.segments import SegmentInfo
from restreamer import live
from restreamer.numbering import TallyMemo
from support.archive import write_segment

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
BY_HOUR = {}
for _s in SEGMENTS:
    BY_HOUR.setdefault(_s.start.replace(minute=0, second=0), []).append(_s)


def listing_at(now):
    """The live rules on what is on disk at `now` (what app.hour_listing does)."""
    def arrival(s):
        arrived = ARRIVAL[s.path]
        return arrived if arrived <= now else None

    def listing(hour):
        chain = live.on_time_chain(BY_HOUR.get(hour, []), arrival)
        return live.listed(chain, now - live.SETTLE)
    return listing


def numbers(entries, sequence, disc):
    """-> {path: (media sequence number, discontinuity sequence number)}."""
    out, n, d = {}, sequence, disc
    for e in entries:
        if e is None:
            d += 1
            continue
        out[e.path] = (n, d)
        n += 1
    return out


def poll(now, memo, hours=None):
    horizon = now - live.SETTLE
    if hours is None:
        hours = [FIRST.replace(minute=0, second=0) + k * live.HOUR for k in range(5)]
    hours = [h for h in hours if h <= horizon]
    return live.live_window(hours, horizon, listing_at(now), memo, size=30)


def check_polls(times, memo, seen, hours=None):
    last_sequence = -1
    for now in times:
        entries, sequence, disc = poll(now, memo, hours)
        assert sequence >= last_sequence, f"MEDIA-SEQUENCE went back at {now}"
        last_sequence = sequence
        for path, number in numbers(entries, sequence, disc).items():
            assert seen.setdefault(path, number) == number, f"{path} renumbered at {now}"


def test_numbering_is_consistent_across_hours_midnight_and_0100():
    memo, seen = TallyMemo().view("/b/s/v", live.ORIGIN), {}
    # Polled every 3 s across midnight (a day boundary) and across 01:00 UTC, where the
    # numbering used to restart: the same segment keeps its numbers, they never decrease.
    start = datetime(2026, 3, 1, 23, 57)
    check_polls([start + k * timedelta(seconds=3) for k in range(100)], memo, seen)
    start = datetime(2026, 3, 2, 0, 58)
    check_polls([start + k * timedelta(seconds=3) for k in range(100)], memo, seen)
    # Each segment's number is the count of on-time segments before it since the origin.
    on_time = [s.path for s in SEGMENTS if ARRIVAL[s.path] <= s.end + live.SETTLE]
    assert len(seen) > 200
    assert all(seen[path][0] == i for i, path in enumerate(on_time) if path in seen)
    # A fresh process (nothing memoised) numbers them the same.
    for now in (datetime(2026, 3, 2, 0, 0, 40), datetime(2026, 3, 2, 1, 2, 7)):
        entries, sequence, disc = poll(now, TallyMemo().view("/b/s/v", live.ORIGIN))
        for path, number in numbers(entries, sequence, disc).items():
            assert seen[path] == number


def test_memo_keeps_numbers_when_old_hours_are_pruned():
    memo, seen = TallyMemo().view("/b/s/v", live.ORIGIN), {}
    start = datetime(2026, 3, 2, 1, 0)
    check_polls([start + k * timedelta(seconds=5) for k in range(20)], memo, seen)
    hours = [datetime(2026, 3, 2, h) for h in (0, 1, 2)]  # 22:00 and 23:00 deleted
    check_polls([start + k * timedelta(seconds=5) for k in range(20, 40)], memo, seen, hours)
    assert len(seen) > 30


def test_window_reaches_back_over_empty_hours():
    """An idle stream: the window is the last segments, hours back; numbers are unchanged."""
    memo = TallyMemo().view("/b/s/v", live.ORIGIN)
    now = datetime(2026, 3, 2, 2, 11, 30)  # after the last segment
    before = numbers(*poll(now, memo))
    later = now + timedelta(hours=5)
    hours = [FIRST.replace(minute=0, second=0) + k * live.HOUR for k in range(5)]
    for memo in (memo, TallyMemo().view("/b/s/v", live.ORIGIN)):
        after = numbers(*live.live_window(hours, later - live.SETTLE, listing_at(later), memo))
        assert after == before


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
    now = datetime.utcnow().replace(microsecond=0)
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
    shutil.rmtree(os.path.join(base, "s", "live", f"{old:%Y-%m-%dT%H}"))
    if old + 10 * TWO >= (old + live.HOUR).replace(minute=0, second=0):
        shutil.rmtree(os.path.join(base, "s", "live", f"{old + live.HOUR:%Y-%m-%dT%H}"))
    assert media_sequence(server.get("/playlist/s/live.m3u8")) == sequence
