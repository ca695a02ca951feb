"""Pure logic: variant naming, ad detection, start times and skew, playlist diffing."""

from datetime import datetime, timedelta

import pytest

from downloader import twitch
from downloader.playlist import new_entries, parse_media_playlist
from downloader.problems import Complaints
from downloader.sources import variants_from_playlist
from downloader.times import (TWITCH_SKEW_LIMIT, UnknownStart, after_discontinuity,
    exact_duration, segment_start, skew_exceeds)
from downloader.variants import name_variants, select_variants
from downloader.worker import MAX_ERROR_DELAY, Worker, error_delays, poll_delays

BASE = "http://origin.test/live/master.m3u8"

TWITCH_MASTER = """#EXTM3U
#EXT-X-TWITCH-INFO:NODE="video-edge",MANIFEST-NODE-TYPE="weaver_cluster"
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="chunked",NAME="1080p60 (source)",AUTOSELECT=YES,DEFAULT=YES
#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080,CODECS="avc1.64002A,mp4a.40.2",VIDEO="chunked",FRAME-RATE=60.000
https://edge.test/v1/playlist/chunked.m3u8
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="720p60",NAME="720p60",AUTOSELECT=YES,DEFAULT=YES
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS="avc1.4D401F,mp4a.40.2",VIDEO="720p60",FRAME-RATE=60.000
https://edge.test/v1/playlist/720p60.m3u8
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="audio_only",NAME="audio_only",AUTOSELECT=NO,DEFAULT=NO
#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2",VIDEO="audio_only"
https://edge.test/v1/playlist/audio_only.m3u8
"""

PLAIN_MASTER = """#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,FRAME-RATE=30
low/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,FRAME-RATE=60
high/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,FRAME-RATE=60
mid/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360
low2/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"
audio/index.m3u8
"""


def test_twitch_variant_names():
    variants = name_variants(TWITCH_MASTER, BASE)
    assert [(v.name, v.url) for v in variants] == [
        ("source", "https://edge.test/v1/playlist/chunked.m3u8"),
        ("720p60", "https://edge.test/v1/playlist/720p60.m3u8"),
        ("audio_only", "https://edge.test/v1/playlist/audio_only.m3u8"),
    ]


def test_unnamed_variants_named_by_bandwidth_and_resolution():
    variants = {v.name: v.url for v in name_variants(PLAIN_MASTER, BASE)}
    assert variants == {
        "source": "http://origin.test/live/high/index.m3u8",
        "720p60": "http://origin.test/live/mid/index.m3u8",
        "360p": "http://origin.test/live/low/index.m3u8",
        "360p_2": "http://origin.test/live/low2/index.m3u8",
        "audio_only": "http://origin.test/live/audio/index.m3u8",
    }


def test_source_named_by_name_containing_source():
    text = TWITCH_MASTER.replace('GROUP-ID="chunked"', 'GROUP-ID="g1"').replace(
        'VIDEO="chunked"', 'VIDEO="g1"')
    assert name_variants(text, BASE)[0].name == "source"


def test_select_variants():
    variants = name_variants(TWITCH_MASTER, BASE)
    chosen, missing = select_variants(variants, ["source", "480p"])
    assert list(chosen) == ["source"] and missing == ["480p"]
    chosen, missing = select_variants(variants, ["all"])
    assert set(chosen) == {"source", "720p60", "audio_only"} and missing == []


def test_media_playlist_is_one_variant():
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg1.ts\n"
    [variant] = variants_from_playlist(text, BASE, "mine")
    assert variant.name == "mine" and variant.url == BASE
    with pytest.raises(ValueError):
        variants_from_playlist("<html>nope</html>", BASE, "source")
    with pytest.raises(ValueError):
        name_variants(text, BASE)


AD_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-TWITCH-ELAPSED-SECS:1000.000
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:00.000Z
#EXTINF:2.000,live
https://edge.test/a.ts
#EXT-X-DATERANGE:ID="stitched-ad-1",CLASS="twitch-stitched-ad",START-DATE="2026-11-27T12:00:02.000Z",DURATION=4.000,X-TV-TWITCH-AD-ROLL-TYPE="MIDROLL"
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:02.000Z
#EXTINF:2.000,Amazon|123
https://edge.test/ad1.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:04.000Z
#EXTINF:2.000,
https://edge.test/ad2.ts
#EXT-X-DATERANGE:ID="other",CLASS="foo",START-DATE="2026-11-27T12:00:06.000Z",X-TV-TWITCH-AD-URL="x"
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:06.000Z
#EXTINF:2.000,live
https://edge.test/ad3.ts
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:08.000Z
#EXTINF:1.996,live
https://edge.test/b.ts
#EXT-X-TWITCH-PREFETCH:https://edge.test/c.ts
"""


def test_ads_detected_by_daterange_title_and_attributes():
    playlist = parse_media_playlist(AD_PLAYLIST, "https://edge.test/index.m3u8")
    assert [(e.uri.rsplit("/", 1)[1], e.ad) for e in playlist.entries] == [
        ("a.ts", False), ("ad1.ts", True), ("ad2.ts", True), ("ad3.ts", True), ("b.ts", False)]
    assert playlist.entries[-1].duration == timedelta(seconds=1.996)
    assert playlist.entries[0].pdt == datetime(2026, 11, 27, 12, 0, 0)
    assert playlist.target_duration == 6 and not playlist.ended


def test_amazon_title_alone_is_an_ad():
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,Amazon\nx.ts\n#EXTINF:2.0,live\ny.ts\n"
    assert [e.ad for e in parse_media_playlist(text, BASE).entries] == [True, False]


def test_not_a_media_playlist():
    with pytest.raises(ValueError):
        parse_media_playlist("hello", BASE)
    with pytest.raises(ValueError):
        parse_media_playlist(PLAIN_MASTER, BASE)


def test_endlist():
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nx.ts\n#EXT-X-ENDLIST\n"
    assert parse_media_playlist(text, BASE).ended


T0 = datetime(2026, 11, 27, 12, 0, 0)
TWO = timedelta(seconds=2)


def test_segment_start_rules():
    assert segment_start(T0, None) == (T0, None)
    assert segment_start(None, (T0, TWO)) == (T0 + TWO, None)
    start, skew = segment_start(T0 + TWO + timedelta(milliseconds=15), (T0, TWO))
    assert start == T0 + TWO + timedelta(milliseconds=15)
    assert skew == timedelta(milliseconds=15)
    assert skew_exceeds(skew, TWITCH_SKEW_LIMIT)
    assert not skew_exceeds(timedelta(milliseconds=10), TWITCH_SKEW_LIMIT)
    assert not skew_exceeds(skew, None)
    with pytest.raises(UnknownStart):
        segment_start(None, None)


def test_exact_duration():
    assert exact_duration(2.0) == TWO
    assert exact_duration(1.996) == timedelta(microseconds=1_996_000)
    assert exact_duration(0.866667) == timedelta(microseconds=866_667)


def entry_list(text):
    return parse_media_playlist(text, "http://o.test/i.m3u8").entries


def test_new_entries_counts_from_known_and_stops_at_discontinuities():
    first = entry_list("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-27T12:00:00Z\n"
                       "#EXTINF:2.0,\na.ts\n#EXTINF:2.0,\nb.ts\n")
    known = {}
    got = []
    for entry, previous in new_entries(first, known):
        start, _ = segment_start(entry.pdt, previous)
        known[entry.id] = (start, entry.duration)
        got.append(start)
    assert got == [T0, T0 + TWO]
    later = entry_list("#EXTM3U\n#EXTINF:2.0,\nb.ts\n#EXTINF:2.0,\nc.ts\n"
                       "#EXT-X-DISCONTINUITY\n#EXTINF:2.0,\nd.ts\n")
    pairs = [(e.uri, p) for e, p in new_entries(later, known)]
    # c.ts follows the known b.ts; d.ts is after a discontinuity (and c.ts was never recorded).
    assert pairs == [("http://o.test/c.ts", (T0 + TWO, TWO)), ("http://o.test/d.ts", None)]


def test_a_failing_playlist_is_retried_often_enough_to_miss_no_segment():
    # After an origin outage of any length, a segment listed during it stays listed for what is
    # left of the playlist's window: the soak found 8 s, then 3 s between retries too slow.
    delays = error_delays()
    waits = [next(delays) for _ in range(50)]
    assert waits[0] == 0.5
    assert max(waits) == MAX_ERROR_DELAY <= 1


def test_poll_delays_stay_under_a_second_of_lateness():
    after_new, retry = poll_delays(2, TWO)
    assert retry <= 0.5 and 1 <= after_new < 2
    after_new, retry = poll_delays(6, TWO)     # Twitch: target 6, segments 2
    assert retry == 0.5 and after_new == 1.5


class RecordingManager:
    """Stands in for the manager to observe what a worker decides (the worker's logic only).
    `adopt`: the start an anchored run's first segment is moved to (a copy found elsewhere)."""
    stream = "s"

    def __init__(self, adopt=None):
        self.jobs, self.troubles, self.working, self.anchored = [], [], [], []
        self.complaints = Complaints("s")
        self.adopt = adopt

    def submit(self, job):
        self.jobs.append(job)

    def anchor(self, job):
        self.anchored.append(job.start)
        if self.adopt is not None:
            job.start = self.adopt
        self.jobs.append(job)
        return job.start

    def trigger_new_worker(self, worker):
        self.troubles.append(worker.trouble)

    def worker_working(self, worker):
        self.working.append(worker)


def stamped(*pairs):
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2"]
    for name, pdt in pairs:
        if pdt is not None:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{pdt.isoformat()}Z")
        lines += ["#EXTINF:2.000,", name]
    return parse_media_playlist("\n".join(lines) + "\n", "http://o.test/i.m3u8")


def test_worker_skew_marks_later_segments_suspect_and_asks_for_replacement():
    manager = RecordingManager()
    worker = Worker(manager, "source", "http://o.test/i.m3u8", skew_limit=TWITCH_SKEW_LIMIT)
    worker.handle(stamped(("a.ts", T0), ("b.ts", T0 + TWO)))
    assert [j.force_suspect for j in manager.jobs] == [False, False] and not manager.troubles
    worker.handle(stamped(("b.ts", T0 + TWO), ("c.ts", T0 + 2 * TWO + timedelta(milliseconds=40)),
        ("d.ts", None)))
    assert [j.force_suspect for j in manager.jobs] == [False, False, True, True]
    assert manager.jobs[3].start == T0 + 3 * TWO + timedelta(milliseconds=40)
    assert manager.troubles == ["program date times skewed"]


def test_worker_anchors_segments_without_stamps_on_the_clock_and_counts_on():
    manager = RecordingManager()
    worker = Worker(manager, "source", "http://o.test/i.m3u8")
    # The live edge (end of b.ts) is the moment the playlist was read.
    worker.handle(stamped(("a.ts", None), ("b.ts", None)), read_at=T0 + 2 * TWO)
    assert manager.anchored == [T0]               # one anchor per run: its first segment
    assert [j.start for j in manager.jobs] == [T0, T0 + TWO]
    # Read later (and late): the new segments count on from the known ones, not the clock.
    worker.handle(stamped(("b.ts", None), ("c.ts", None), ("d.ts", None)),
                  read_at=T0 + timedelta(seconds=60))
    assert manager.anchored == [T0]
    assert [j.start for j in manager.jobs] == [T0, T0 + TWO, T0 + 2 * TWO, T0 + 3 * TWO]
    assert not manager.troubles and manager.working == [worker]


def test_worker_adopts_a_copy_s_timeline_and_reanchors_only_at_discontinuities():
    moved = T0 + timedelta(milliseconds=300)
    manager = RecordingManager(adopt=moved)
    worker = Worker(manager, "source", "http://o.test/i.m3u8")
    worker.handle(stamped(("a.ts", None), ("b.ts", None)), read_at=T0 + 2 * TWO)
    assert [j.start for j in manager.jobs] == [moved, moved + TWO]
    # The playlist moved on past everything we saw: the media sequence number carries on.
    text = ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:2.000,\nc.ts\n"
            "#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nd.ts\n")
    manager.adopt = None
    worker.handle(parse_media_playlist(text, "http://o.test/i.m3u8"),
                  read_at=T0 + timedelta(seconds=30))
    assert manager.jobs[2].start == moved + 2 * TWO
    # After the discontinuity: a new run, after the pause the clock shows (21.7 s, counted in
    # whole target durations so that nodes reading at other moments agree).
    assert manager.anchored[1:] == [moved + 3 * TWO + 10 * TWO]
    assert manager.jobs[3].start == moved + 3 * TWO + 10 * TWO


def test_a_run_after_a_discontinuity_starts_on_the_grid_of_target_durations():
    end = T0 + 3 * TWO
    assert after_discontinuity(end, end + timedelta(seconds=1.9), 2) == end   # no pause
    assert after_discontinuity(end, end - timedelta(seconds=3), 2) == end     # clock behind
    assert after_discontinuity(end, end + timedelta(seconds=30.5), 2) == end + 15 * TWO
    assert after_discontinuity(end, end + timedelta(seconds=30.5), 6) == end + 5 * 3 * TWO


def test_twitch_token_parsing_and_urls():
    ok = {"data": {"streamPlaybackAccessToken": {"value": "tok", "signature": "sig"}}}
    assert twitch.parse_token_response(ok) == ("tok", "sig")
    assert twitch.parse_token_response([ok]) == ("tok", "sig")
    with pytest.raises(twitch.Offline):
        twitch.parse_token_response({"data": {"streamPlaybackAccessToken": None}})
    with pytest.raises(ValueError):
        twitch.parse_token_response({"errors": [{"message": "boom"}]})
    assert twitch.usher_url("https://usher.ttvnw.net/", "SomeOne") == \
        "https://usher.ttvnw.net/api/v2/channel/hls/someone.m3u8"
    params = twitch.usher_params("tok", "sig")
    assert params["allow_source"] == "true" and params["allow_audio_only"] == "true"
    assert params["token"] == "tok" and params["sig"] == "sig"


def test_auth_file(tmp_path):
    path = tmp_path / "auth"
    path.write_text("\nOAuth abc123\n")
    assert twitch.read_auth_file(path) == "abc123"
    path.write_text("abc123\n")
    assert twitch.read_auth_file(path) == "abc123"
    path.write_text("\n")
    with pytest.raises(ValueError):
        twitch.read_auth_file(path)


def test_which_duplicate_offers_are_worth_fetching():
    from downloader.download import SegmentJob
    from downloader.manager import Job, worth_refetching

    def finished(result, uri="http://o.test/g1/a.ts", force_suspect=False):
        state = Job(SegmentJob("s", "source", uri, T0, TWO, force_suspect=force_suspect))
        state.result = result
        return state

    other_url = SegmentJob("s", "source", "http://o.test/g2/a.ts", T0, TWO)
    same_url = SegmentJob("s", "source", "http://o.test/g1/a.ts", T0, TWO)
    # Nothing complete stored: another URL may work where this one expired or kept breaking.
    assert worth_refetching(finished(None), other_url)
    assert worth_refetching(finished("partial"), other_url)
    assert not worth_refetching(finished(None), same_url)   # already retried to the deadline
    # A complete copy is enough, unless only a skew-marked one was stored.
    assert not worth_refetching(finished("full"), other_url)
    assert not worth_refetching(finished("suspect"), other_url)
    assert worth_refetching(finished("suspect", force_suspect=True), same_url)
    assert not worth_refetching(finished("full", force_suspect=True), same_url)


def test_one_error_kind_for_playlist_and_segment_fetches():
    import requests
    import urllib3

    from downloader.download import error_kind

    response = requests.Response()
    response.status_code = 503
    assert error_kind(requests.HTTPError(response=response)) == "http_5xx"
    assert error_kind(requests.ReadTimeout()) == "timeout"
    assert error_kind(urllib3.exceptions.ReadTimeoutError(None, "/", "slow")) == "timeout"
    assert error_kind(requests.ConnectionError()) == "connection"
    assert error_kind(urllib3.exceptions.ProtocolError("broken")) == "protocol"
    assert error_kind(requests.TooManyRedirects()) == "protocol"
    assert error_kind(OSError(28, "No space left on device")) == "io"
