"""A live origin whose video variant plays with a separate audio rendition (ffmpeg's
`-var_stream_map` with an audio group; the master lists a subtitles rendition too): the audio is
recorded as a variant of its own, tied to the video by variant.json, advertised by the
restreamer as an #EXT-X-MEDIA audio group, and every cut of the video has its sound."""

import json
import logging
import os
import subprocess
from datetime import timedelta

import gevent
import pytest
import requests

from common import cuts, renditions
from common.segments import get_best_segments
from downloader.manager import StreamManager
from downloader.sources import HLSSource
from restreamer.app import Config, create_app
from support.hls_origin import HLSOrigin
from support.stream_checks import assert_all_decode, assert_no_duplicate_bytes, read, stored
from support.waiting import wait_for

SEGMENTS = 5
MS = timedelta(milliseconds=1)


class Captured(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(origin, archive base, first and last seq recorded, downloader log messages)."""
    origin = HLSOrigin(tmp_path_factory.mktemp("audio_origin"), sizes=((160, 90),),
                       separate_audio=True).start()
    base = str(tmp_path_factory.mktemp("audio_archive"))
    captured = Captured()
    logger = logging.getLogger("downloader")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(captured)
    try:
        channel = origin.channel()
        session = requests.Session()
        manager = StreamManager("test", HLSSource(session, channel.master_url), ["source"],
                                base, session=session, offline_poll_interval=1)
        first = origin.next_seq(0)
        runner = gevent.spawn(manager.run)
        last = first + SEGMENTS - 1
        origin.wait_for_seq(last + 1, 0)
        origin.wait_for_seq(last + 1, 1)
        newest = {v: origin.history[v][last][0] for v in (0, 1)}
        wait_for(lambda: all(any(s.start == newest[v] for s in stored(base, "test", name))
                             for v, name in ((0, "source"), (1, "audio-en"))), 10,
                 "the newest video and audio segments")
        manager.stop(timeout=5)
        runner.kill()
        yield origin, base, first, last, captured.messages
    finally:
        logger.removeHandler(captured)
        logger.setLevel(level)
        origin.stop()


def test_audio_rendition_recorded_as_a_variant_of_its_own(recorded):
    origin, base, first, last, messages = recorded
    assert sorted(os.listdir(os.path.join(base, "test"))) == ["audio-en", "source"]
    source, audio = (os.path.join(base, "test", v) for v in ("source", "audio-en"))
    assert renditions.read_info(source) == {"audio": ["audio-en"]}
    assert renditions.read_info(audio) == {"type": "audio", "name": "English",
                                           "language": "en", "default": True}
    assert renditions.audio_variant(source) == audio
    for v, name, kinds in ((0, "source", ["video"]), (1, "audio-en", ["audio"])):
        segments = stored(base, "test", name)
        assert stored(base, "test", name, ("partial", "suspect", "temp")) == []
        by_start = {s.start: s for s in segments}
        for seq in range(first, last + 1):
            pdt, duration, path = origin.history[v][seq]
            # (names keep milliseconds; ffmpeg's audio EXTINF has microseconds)
            assert by_start[pdt].duration == duration // MS * MS
            assert read(by_start[pdt].path) == read(path)
        assert_all_decode(segments, kinds)
        assert_no_duplicate_bytes(segments)
    assert len([m for m in messages if "subtitles" in m]) == 1


def packet_spans(path):
    """{codec type: (first timestamp, end of the last packet)} in seconds, from the packets."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=index,codec_type:"
         "packet=stream_index,pts_time,duration_time", "-of", "json", "file:" + path],
        capture_output=True, text=True, check=True)
    info = json.loads(probe.stdout)
    kinds = {s["index"]: s["codec_type"] for s in info["streams"]}
    spans = {}
    for packet in info["packets"]:
        kind = kinds[packet["stream_index"]]
        start = float(packet["pts_time"])
        end = start + float(packet.get("duration_time") or 0)
        low, high = spans.get(kind, (start, end))
        spans[kind] = (min(low, start), max(high, end))
    return spans


def duration_of(spans, kind):
    return spans[kind][1] - spans[kind][0]


def write(tmp_path, name, chunks):
    path = str(tmp_path / name)
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    return path


# One audio frame (1024 samples at 44.1 kHz) and one video frame (15 fps) of slack.
AUDIO_FRAME = 1024 / 44100
VIDEO_FRAME = 1 / 15


def test_every_cut_type_has_the_sound_of_the_cut(recorded, tmp_path):
    origin, base, first, last, _ = recorded
    video = os.path.join(base, "test", "source")
    start = origin.history[0][first][0] + timedelta(milliseconds=400)
    end = origin.history[0][last][0] + timedelta(milliseconds=600)
    segments = get_best_segments(video, start, end)
    assert None not in segments
    audio = renditions.audio_segments(video, segments)
    assert audio

    rough = packet_spans(write(tmp_path, "rough.ts", cuts.rough_cut(segments, start, end,
                                                                      audio=audio)))
    covered = (segments[-1].end - segments[0].start).total_seconds()  # whole segments
    assert abs(duration_of(rough, "video") - covered) <= VIDEO_FRAME
    assert abs(duration_of(rough, "audio") - covered) <= 2 * AUDIO_FRAME
    assert abs(rough["audio"][0] - rough["video"][0]) <= AUDIO_FRAME  # in step

    wanted = (end - start).total_seconds()
    for name, chunks in (
            ("fast.ts", cuts.fast_cut(segments, start, end, "mpegts", audio=audio)),
            ("fast.mp4", cuts.fast_cut(segments, start, end, "mp4", audio=audio)),
            ("full.mp4", cuts.full_cut(segments, start, end, ["-c:v", "libx264", "-preset",
                                       "ultrafast", "-c:a", "aac"], "mp4", audio=audio))):
        spans = packet_spans(write(tmp_path, name, chunks))
        assert abs(duration_of(spans, "video") - wanted) <= VIDEO_FRAME, name
        assert abs(duration_of(spans, "audio") - wanted) <= 3 * AUDIO_FRAME, name
        assert abs(spans["audio"][0] - spans["video"][0]) <= 2 * AUDIO_FRAME, name


def test_restreamer_advertises_the_audio_group_and_cuts_with_sound(recorded, tmp_path):
    origin, base, first, last, _ = recorded
    client = create_app(Config(base)).test_client()
    master = client.get("/playlist/test.m3u8")
    assert master.status_code == 200
    lines = master.get_data(as_text=True).splitlines()
    media = [line for line in lines if line.startswith("#EXT-X-MEDIA:")]
    assert len(media) == 1
    assert media[0].startswith('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",'
                               'LANGUAGE="en",DEFAULT=YES')
    assert 'URI="test/audio-en.m3u8"' in media[0]
    variants = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    assert len(variants) == 1 and 'AUDIO="audio"' in variants[0]   # the audio is no variant
    assert "mp4a.40.2" in variants[0] and "avc1." in variants[0]
    assert lines[lines.index(variants[0]) + 1] == "test/source.m3u8"
    audio_playlist = client.get("/playlist/test/audio-en.m3u8")
    assert audio_playlist.status_code == 200 and "#EXTINF" in audio_playlist.get_data(True)

    start = origin.history[0][first][0] + timedelta(milliseconds=400)
    end = origin.history[0][last][0]
    for kind in ("rough", "fast"):
        response = client.get(f"/cut/test/source.ts?type={kind}&start={start.isoformat()}"
                              f"&end={end.isoformat()}")
        assert response.status_code == 200, response.get_data(True)
        spans = packet_spans(write(tmp_path, f"{kind}.ts", [response.get_data()]))
        assert abs(duration_of(spans, "audio") - duration_of(spans, "video")) <= 3 * AUDIO_FRAME
