"""Pure logic for the kinds of playlist real servers publish: byte ranges, keys, gaps,
low-latency parts, audio and subtitles renditions, clock anchors, and the timeline lookup."""

import os
from datetime import datetime, timedelta

import pytest

from common.segments import format_segment_path
from downloader import problems
from downloader.playlist import ByteRange, parse_media_playlist
from downloader.problems import Complaints
from downloader.timeline import TimelineLookup, clock_estimates, hours_around
from downloader.variants import parse_master, select_variants
from downloader.worker import Worker

URL = "http://o.test/live/index.m3u8"
T0 = datetime(2026, 11, 27, 12, 0, 0)
ONE = timedelta(seconds=1)


def parse(body):
    return parse_media_playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + body, URL)


def test_byte_ranges_carry_their_offset_per_uri():
    playlist = parse("#EXT-X-MEDIA-SEQUENCE:7\n"
                     "#EXTINF:2,\n#EXT-X-BYTERANGE:100@50\nall.ts\n"
                     "#EXTINF:2,\n#EXT-X-BYTERANGE:80\nall.ts\n"
                     "#EXTINF:2,\n#EXT-X-BYTERANGE:10@0\nother.ts\n"
                     "#EXTINF:2,\n#EXT-X-BYTERANGE:30\nall.ts\n"
                     "#EXTINF:2,\n#EXT-X-BYTERANGE:5\nfresh.ts\n")
    entries = playlist.entries
    assert [e.byterange for e in entries[:4]] == [
        ByteRange(50, 100), ByteRange(150, 80), ByteRange(0, 10), ByteRange(230, 30)]
    assert [e.seq for e in entries] == [7, 8, 9, 10, 11]
    # Same URI, other range: another segment.
    assert len({e.id for e in entries}) == 5
    assert entries[1].byterange.header() == "bytes=150-229"
    # A range with no offset and nothing before it of that URI cannot be placed.
    assert entries[4].bad and entries[4].byterange is None


def test_keys_ivs_and_unsupported_methods():
    playlist = parse("#EXT-X-MEDIA-SEQUENCE:3\n"
                     "#EXT-X-KEY:METHOD=AES-128,URI=\"k1\",IV=0x000102030405060708090A0B0C0D0E0F\n"
                     "#EXTINF:2,\na.ts\n"
                     "#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.test/k2\"\n#EXTINF:2,\nb.ts\n"
                     "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k3\",KEYFORMAT=\"com.apple\"\n"
                     "#EXTINF:2,\nc.ts\n"
                     "#EXT-X-KEY:METHOD=AES-128,URI=\"k4\",KEYFORMAT=\"com.widevine\"\n"
                     "#EXTINF:2,\nd.ts\n"
                     "#EXT-X-KEY:METHOD=AES-128,URI=\"k5\",IV=0x12\n#EXTINF:2,\ne.ts\n"
                     "#EXT-X-KEY:METHOD=NONE\n#EXTINF:2,\nf.ts\n")
    a, b, c, d, e, f = playlist.entries
    assert a.key.uri == "http://o.test/live/k1" and a.key.iv == bytes(range(16))
    assert a.key.problem() is None
    assert b.key.uri == "https://keys.test/k2" and b.key.iv is None and b.seq == 4
    assert c.key.problem()[0] == problems.UNSUPPORTED_METHOD
    assert d.key.problem()[0] == problems.UNSUPPORTED_KEYFORMAT
    assert e.bad and "IV" in e.bad
    assert f.key is None


def test_gaps_parts_preload_hints_and_prefetch_lines():
    playlist = parse("#EXT-X-PART-INF:PART-TARGET=0.5\n"
                     "#EXTINF:2,\na.ts\n"
                     "#EXT-X-GAP\n#EXTINF:2,\ngap.ts\n"
                     "#EXT-X-PART:DURATION=0.5,URI=\"p1.ts\"\n#EXTINF:2,\nb.ts\n"
                     "#EXT-X-PART:DURATION=0.5,URI=\"p2.ts\"\n"
                     "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p3.ts\"\n"
                     "#EXT-X-TWITCH-PREFETCH:https://o.test/next.ts\n")
    assert [(e.uri.rsplit("/", 1)[1], e.gap) for e in playlist.entries] == [
        ("a.ts", False), ("gap.ts", True), ("b.ts", False)]


def test_clock_estimates_end_at_the_live_edge():
    playlist = parse("#EXTINF:2,\na.ts\n#EXTINF:1.5,\nb.ts\n#EXTINF:2,\nc.ts\n")
    starts = clock_estimates(playlist.entries, T0)
    assert [starts[e.id] for e in playlist.entries] == [
        T0 - timedelta(seconds=5.5), T0 - timedelta(seconds=3.5), T0 - timedelta(seconds=2)]


SEPARATE_AUDIO_MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,URI="a/de.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,URI="a/en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="muxed",NAME="Main",DEFAULT=YES
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",URI="s/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,AUDIO="aac",SUBTITLES="subs"
v/720.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,AUDIO="aac"
v/360.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=480x270,AUDIO="muxed"
v/270.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2",AUDIO="aac"
a/en.m3u8
"""


def test_audio_renditions_are_variants_of_their_own():
    master = parse_master(SEPARATE_AUDIO_MASTER, "http://o.test/live/master.m3u8")
    by_name = {v.name: v for v in master.variants}
    # The video variants keep their names (not the audio's); the audio playlist listed as a
    # variant is the English rendition, not an audio_only variant.
    assert sorted(by_name) == ["270p", "360p", "audio-de", "audio-en", "source"]
    assert by_name["source"].audio == ("audio-en", "audio-de")    # the default first
    assert by_name["360p"].audio == ("audio-en", "audio-de")
    assert by_name["270p"].audio == ()   # its AUDIO group has no URI: the sound is inside
    assert by_name["audio-en"].url == "http://o.test/live/a/en.m3u8"
    assert by_name["audio-en"].rendition == {"type": "audio", "name": "English",
                                             "language": "en", "default": True}
    assert master.subtitles == 1
    chosen, missing = select_variants(master.variants, ["360p"])
    assert sorted(chosen) == ["360p", "audio-de", "audio-en"] and missing == []
    chosen, _ = select_variants(master.variants, ["270p"])
    assert sorted(chosen) == ["270p"]


def test_complaints_are_counted_always_and_logged_once_a_minute(caplog):
    now = [1000.0]
    complaints = Complaints("s", clock=lambda: now[0])
    with caplog.at_level("ERROR", logger="downloader.problems"):
        assert complaints.report("v", problems.KEY_UNAVAILABLE, "key 404")
        now[0] += 59
        assert not complaints.report("v", problems.KEY_UNAVAILABLE, "key 404")
        assert complaints.report("v", problems.UNSUPPORTED_METHOD, "SAMPLE-AES")  # another one
        now[0] += 2
        assert complaints.report("v", problems.KEY_UNAVAILABLE, "key 404")
    assert "1 more since the last report" in caplog.records[-1].getMessage()
    with pytest.raises(ValueError):
        complaints.report("v", "made up", "unbounded labels are refused")


def test_timeline_lookup_prefers_this_archive_then_the_earliest_peer_copy(tmp_path):
    base = str(tmp_path)
    mine = T0 + timedelta(milliseconds=250)
    hash_ = "A" * 42 + "A"
    path = format_segment_path(base, "s", "v", mine, ONE, "full", hash_)
    os.makedirs(os.path.dirname(path))
    open(path, "wb").close()
    lookup = TimelineLookup(base, "s")
    assert lookup.find("v", T0 + timedelta(seconds=3), hash_) == (mine, True)
    assert lookup.find("v", T0, "B" * 42 + "A") is None
    # Peers: the earliest start among their copies, so every node picks the same one.
    listings = {("p1", "2026-11-27T12"): [os.path.basename(path).replace(hash_, "C" * 42 + "A")],
                ("p2", "2026-11-27T11"): ["59:59.900000-1.000-full-" + "C" * 42 + "A" + ".ts"]}
    lookup = TimelineLookup(str(tmp_path / "empty"), "s", peers=["p1", "p2"])
    lookup.remote = lambda peer, variant, hour: listings.get((peer, hour), [])
    assert lookup.find("v", T0, "C" * 42 + "A") == (T0 - timedelta(milliseconds=100), False)
    assert hours_around(T0) == ["2026-11-27T11", "2026-11-27T12", "2026-11-27T13"]


class Manager:
    """Stands in for the manager: records what a worker submits and what it reports."""
    stream = "s"

    def __init__(self):
        self.jobs = []
        self.complaints = Complaints("s")

    def submit(self, job):
        self.jobs.append(job)

    def anchor(self, job):
        self.jobs.append(job)
        return job.start

    def worker_working(self, worker):
        pass


def test_worker_fetches_neither_gaps_nor_what_it_cannot_decrypt(caplog):
    manager = Manager()
    worker = Worker(manager, "v", URL)
    playlist = parse("#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:00Z\n"
                     "#EXTINF:2,\na.ts\n"
                     "#EXT-X-GAP\n#EXTINF:2,\ngap.ts\n"
                     "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"k\"\n#EXTINF:2,\nsample-aes.ts\n"
                     "#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:2,\n"
                     "#EXT-X-BYTERANGE:100@0\nb.ts\n"
                     "#EXT-X-PART:DURATION=0.5,URI=\"part.ts\"\n")
    with caplog.at_level("ERROR", logger="downloader.problems"):
        worker.handle(playlist)
    jobs = [(j.uri.rsplit("/", 1)[1], j.start) for j in manager.jobs]
    # The gap's and the undecryptable segment's time still counts on the timeline.
    assert jobs == [("a.ts", T0), ("b.ts", T0 + 6 * ONE)]
    assert manager.jobs[1].key.uri == "http://o.test/live/k" and manager.jobs[1].byterange
    assert len(caplog.records) == 1 and "SAMPLE-AES" in caplog.records[0].getMessage()
