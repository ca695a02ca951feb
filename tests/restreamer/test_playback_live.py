"""Playlists as players use them: ffmpeg plays a media playlist over HTTP, and a live playlist
polled while segments arrive (on time, late, unsettled) only ever grows at the end."""

import json
import os
import re
import subprocess
from datetime import datetime, timedelta

import pytest

from support.archive import build_archive, write_segment
from common.dateutil import utcnow

T0 = datetime(2025, 3, 1, 12, 59, 50)
TWO = timedelta(seconds=2)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return str(tmp_path_factory.mktemp("play-archive"))


@pytest.fixture(scope="module")
def server(base, restreamer_factory):
    build_archive(base, "s", "v", T0, 12)
    return restreamer_factory(base)


def test_ffmpeg_plays_a_range_over_http(server, tmp_path):
    start, end = T0 + TWO, T0 + 11 * TWO  # crosses an hour boundary
    url = server.url(f"/playlist/s/v.m3u8?start={start.isoformat()}Z&end={end.isoformat()}Z")
    out = str(tmp_path / "played.ts")
    subprocess.run(["ffmpeg", "-v", "error", "-i", url, "-c", "copy", "-f", "mpegts", out],
                   check=True, timeout=60)
    info = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", out],
        capture_output=True, check=True).stdout)
    video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    assert int(video["nb_read_frames"]) == 20 * 30  # exactly the 20 seconds, every frame


def test_ffmpeg_plays_the_master_playlist(server, tmp_path):
    start, end = T0, T0 + 3 * TWO
    url = server.url(f"/playlist/s.m3u8?start={start.isoformat()}Z&end={end.isoformat()}Z")
    out = str(tmp_path / "master.ts")
    subprocess.run(["ffmpeg", "-v", "error", "-i", url, "-c", "copy", "-f", "mpegts", out],
                   check=True, timeout=60)
    assert os.path.getsize(out) > 100_000


# --- live --------------------------------------------------------------------------------------

def parse(text):
    """-> (media sequence, discontinuity sequence, [(sequence number, discontinuity number,
    uri)], has ENDLIST)."""
    media = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    found = re.search(r"#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)", text)
    disc = int(found.group(1)) if found else 0
    entries = []
    number, disc_number = media, disc
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            disc_number += 1
        elif line and not line.startswith("#"):
            entries.append((number, disc_number, line))
            number += 1
    return media, disc, entries, "#EXT-X-ENDLIST" in text


def add(base, start, late=False):
    """A segment starting at start; its file 'arrived' 1 s after it ended, or now if late."""
    path = write_segment(base, "s", "live", start, TWO, f"segment {start}".encode() * 20)
    if not late:
        arrived = (start + TWO + timedelta(seconds=1) - datetime(1970, 1, 1)).total_seconds()
        os.utime(path, (arrived, arrived))
    return path


def test_live_playlist_only_appends(tmp_path, restreamer_factory):
    base = str(tmp_path)
    now = utcnow()
    origin = (now - timedelta(minutes=5)).replace(microsecond=0)
    live_start = origin - TWO
    for i in range(40):
        if i not in (3, 36):  # holes: one that will leave the window, one late-filled
            add(base, origin + i * TWO)
    server = restreamer_factory(base)
    path = f"/playlist/s/live.m3u8?start={live_start.isoformat()}Z"

    first = server.get(path)
    assert first.status_code == 200
    seq1, disc1, entries1, endlist1 = parse(first.text)
    assert not endlist1
    assert len(entries1) == 30  # the window
    assert seq1 == 38 - 30  # 38 segments listed since the origin; the last 30 are shown
    assert disc1 == 1  # the hole at 3 is before the window

    # Segment 36 arrives late (a backfill), more arrive on time, one ends too recently.
    late = add(base, origin + 36 * TWO, late=True)
    for i in range(40, 45):
        add(base, origin + i * TWO)
    # Ended 3 s ago: not settled yet, so not listed even though it arrived on time.
    recent = add(base, utcnow() - timedelta(seconds=5))

    second = server.get(path)
    seq2, disc2, entries2, _ = parse(second.text)
    assert seq2 == seq1 + 5
    # Everything still listed keeps its sequence number, discontinuity number and URI...
    assert entries2[:len(entries1) - 5] == entries1[5:]
    # ...and only new segments were appended.
    new = entries2[len(entries1) - 5:]
    assert [uri.rsplit("/", 1)[1][:14] for _, _, uri in new] == [
        f"{(origin + i * TWO):%M%%3A%S}.000000" for i in range(40, 45)]
    for path in (late, recent):
        assert os.path.basename(path).replace(":", "%3A") not in second.text

    # A range reaching into the future lists by the same rules (it only grows), from 0.
    open_range = server.get(f"/playlist/s/live.m3u8?start={live_start.isoformat()}Z"
                            f"&end={(utcnow() + timedelta(hours=1)).isoformat()}Z")
    seq3, _, entries3, endlist3 = parse(open_range.text)
    assert seq3 == 0 and not endlist3
    assert [uri for _, _, uri in entries3][-len(entries2):] == [uri for _, _, uri in entries2]
    assert len(entries3) == 43
    for path in (late, recent):
        assert os.path.basename(path).replace(":", "%3A") not in open_range.text

    # A fixed range over the same time shows the late segment (no need to keep it out there).
    fixed = server.get(f"/playlist/s/live.m3u8?start={(origin + 30 * TWO).isoformat()}Z"
                       f"&end={(origin + 40 * TWO).isoformat()}Z")
    assert fixed.text.count("#EXTINF") == 10
    assert "#EXT-X-DISCONTINUITY" not in fixed.text
    assert fixed.text.endswith("#EXT-X-ENDLIST\n")


def test_live_playlist_without_start_counts_from_the_fixed_origin(tmp_path, restreamer_factory):
    base = str(tmp_path)
    now = utcnow()
    for i in range(5):
        add(base, (now - timedelta(minutes=2)).replace(microsecond=0) + i * TWO)
    server = restreamer_factory(base)
    text = server.get("/playlist/s/live.m3u8").text
    media, _, entries, endlist = parse(text)
    assert len(entries) == 5 and media == 0 and not endlist


def test_fixed_range_is_finished_once_its_end_settles(tmp_path, restreamer_factory):
    """ENDLIST depends on whether the range's end has settled, not on holes: players treat a
    playlist without it as live, start at its end and keep reloading."""
    base = str(tmp_path)
    now = utcnow().replace(microsecond=0)
    origin = now - timedelta(minutes=2)
    for i in range(60):
        if i != 10:  # a hole
            add(base, origin + i * TWO)
    server = restreamer_factory(base)

    def get(end):
        return server.get(f"/playlist/s/live.m3u8?start={origin.isoformat()}Z"
                          f"&end={end.isoformat()}Z").text

    settled = get(origin + 40 * TWO)  # ended a long while ago
    _, _, entries, endlist = parse(settled)
    assert endlist and "#EXT-X-PLAYLIST-TYPE:VOD\n" in settled
    assert len(entries) == 39 and settled.count("#EXT-X-DISCONTINUITY\n") == 1
    unsettled = get(utcnow() - timedelta(seconds=3))  # the last 10 s are not settled
    _, _, entries, endlist = parse(unsettled)
    assert not endlist and "PLAYLIST-TYPE" not in unsettled
    assert entries and unsettled.count("#EXT-X-DISCONTINUITY\n") == 1
