"""A node that only backfills a stream with separate audio (a standby, a late joiner) copies the
recording node's variant.json files, so that it plays and cuts the video with its sound; the
newer copy wins, and junk from a peer is refused. Real restreamers and the real CLI."""

import json
import os
from datetime import timedelta

import pytest
import requests

from common import renditions
from common.dateutil import utcnow
from support.archive import build_separate_audio_archive
from support.stream_checks import duration_of, packet_spans

STREAM = "stream"
SEGMENTS = 6
# Slack: one video frame (30 fps), three AAC frames (1024 samples at 48 kHz).
VIDEO_FRAME = 1 / 30
AUDIO_FRAMES = 3 * 1024 / 48000


@pytest.fixture
def recorded(tmp_path):
    """(node A's archive: a video variant with its audio rendition, as recorded; start time)."""
    start = (utcnow() - timedelta(hours=2)).replace(minute=10, second=0, microsecond=0)
    base = tmp_path / "a"
    build_separate_audio_archive(str(base), STREAM, "source", start, SEGMENTS)
    return base, start


def info_file(base, variant):
    return os.path.join(base, STREAM, variant, renditions.INFO_FILE)


def contents(path):
    with open(path, "rb") as f:
        return f.read()


def set_mtime(path, when):
    os.utime(path, (when, when))


def cut(server, kind, start, end, tmp_path):
    response = requests.get(f"{server.url}/cut/{STREAM}/source.ts", timeout=60, params={
        "type": kind, "start": start.isoformat(), "end": end.isoformat()})
    assert response.status_code == 200, response.text
    path = str(tmp_path / f"{kind}.ts")
    with open(path, "wb") as f:
        f.write(response.content)
    return packet_spans(path)


def test_a_node_that_only_backfills_plays_and_cuts_with_sound(recorded, tmp_path, restreamers,
                                                              run_backfiller):
    a, start = recorded
    b = tmp_path / "b"
    [peer] = restreamers(a)
    run = run_backfiller(b, [peer.url])
    assert run.returncode == 0, run.stderr
    for variant in ("source", "audio-en"):
        assert contents(info_file(b, variant)) == contents(info_file(a, variant))
        # The copy keeps the recording node's time (whole seconds, as HTTP gives it).
        assert os.stat(info_file(b, variant)).st_mtime == \
            int(os.stat(info_file(a, variant)).st_mtime)
        assert os.listdir(os.path.join(b, STREAM, variant)) != [renditions.INFO_FILE]
    assert run.stderr.count(f"took {renditions.INFO_FILE}") == 2

    # A second pass finds nothing newer: the peer answers 304, nothing is written.
    before = {v: os.stat(info_file(b, v)).st_mtime_ns for v in ("source", "audio-en")}
    again = run_backfiller(b, [peer.url])
    assert again.returncode == 0, again.stderr
    assert f"took {renditions.INFO_FILE}" not in again.stderr
    assert {v: os.stat(info_file(b, v)).st_mtime_ns for v in before} == before

    [local] = restreamers(b)
    master = requests.get(f"{local.url}/playlist/{STREAM}.m3u8", timeout=30)
    assert master.status_code == 200, master.text
    lines = master.text.splitlines()
    [media] = [line for line in lines if line.startswith("#EXT-X-MEDIA:")]
    assert media.startswith('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",'
                            'LANGUAGE="en",DEFAULT=YES')
    assert f'URI="{STREAM}/audio-en.m3u8"' in media
    [variant] = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert 'AUDIO="audio"' in variant   # the audio is a rendition, not a variant of its own
    assert lines[lines.index(variant) + 1] == f"{STREAM}/source.m3u8"

    begin, end = start + timedelta(seconds=1.5), start + timedelta(seconds=9)
    fast = cut(local, "fast", begin, end, tmp_path)
    wanted = (end - begin).total_seconds()
    assert abs(duration_of(fast, "video") - wanted) <= VIDEO_FRAME
    assert abs(duration_of(fast, "audio") - wanted) <= AUDIO_FRAMES + VIDEO_FRAME
    rough = cut(local, "rough", begin, end, tmp_path)
    covered = 10.0   # the whole segments 0 to 4 that the range touches
    assert abs(duration_of(rough, "video") - covered) <= VIDEO_FRAME
    assert abs(duration_of(rough, "audio") - covered) <= AUDIO_FRAMES + VIDEO_FRAME


def test_the_newer_copy_wins(recorded, tmp_path, restreamers, run_backfiller):
    a, _ = recorded
    b = tmp_path / "b"
    hour_ago = int(utcnow().timestamp()) - 3600
    for variant in ("source", "audio-en"):
        set_mtime(info_file(a, variant), hour_ago)
    # This node's own downloader wrote its audio rendition's info just now (another name).
    ours = {"type": "audio", "name": "Local name", "language": "en", "default": True}
    renditions.write_info(os.path.join(b, STREAM, "audio-en"), ours)
    written = os.stat(info_file(b, "audio-en")).st_mtime_ns
    [peer] = restreamers(a)

    run = run_backfiller(b, [peer.url])
    assert run.returncode == 0, run.stderr
    assert renditions.read_info(os.path.join(b, STREAM, "audio-en")) == ours
    assert os.stat(info_file(b, "audio-en")).st_mtime_ns == written
    assert contents(info_file(b, "source")) == contents(info_file(a, "source"))  # ours had none

    # Ours is older than the peer's (say the origin renamed the rendition since): replaced.
    set_mtime(info_file(b, "audio-en"), hour_ago - 60)
    run = run_backfiller(b, [peer.url])
    assert run.returncode == 0, run.stderr
    assert contents(info_file(b, "audio-en")) == contents(info_file(a, "audio-en"))
    assert os.stat(info_file(b, "audio-en")).st_mtime == hour_ago


@pytest.mark.parametrize("junk, reason", [
    (b'{"audio": ["../../../etc"]}', "no variant name"),
    (b'{"audio": ["audio-', "not JSON"),      # a half-written file on the peer
    (json.dumps({"audio": ["a" * 200] * 400}).encode(), "larger than"),
])
def test_junk_from_a_peer_is_refused(recorded, tmp_path, restreamers, run_backfiller, junk,
                                     reason):
    a, _ = recorded
    b = tmp_path / "b"
    with open(info_file(a, "source"), "wb") as f:
        f.write(junk)
    [peer] = restreamers(a)
    run = run_backfiller(b, [peer.url])
    assert run.returncode == 1   # a failure from that peer
    [line] = [x for x in run.stderr.splitlines() if f"rejected {renditions.INFO_FILE}: " in x]
    assert f"/variant/{STREAM}/source.json" in line and reason in line
    source = os.path.join(b, STREAM, "source")
    assert not os.path.exists(os.path.join(source, renditions.INFO_FILE))
    assert [n for n in os.listdir(source) if not n[0].isdigit()] == []   # no temp file left
    assert len(os.listdir(source)) == 1     # its hour: the segments were still copied
    assert contents(info_file(b, "audio-en")) == contents(info_file(a, "audio-en"))
