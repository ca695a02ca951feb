"""Pure parts of the restreamer: playlist text, live selection, parameter checks."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from common.dateutil import parse_duration
from common.segments import SegmentInfo, parse_segment_path
from restreamer import live, playlists
from restreamer.params import BadRequest, check_component, parse_range
from restreamer.variants import describe_streams

HP = "/base/s/v"
HASH = "A" * 43


def seg(start, seconds=2, type="full", name=None):
    duration = timedelta(seconds=seconds)
    if name is None:
        name = f"{start:%M:%S.%f}-{seconds:.3f}-{type}-{HASH}.ts"
    return SegmentInfo(f"{HP}/{start:%Y-%m-%dT%H}/{name}", "s", "v", start, duration, type, HASH)


T = datetime(2026, 1, 2, 3, 59, 58, 123456)


def text(entries, **kwargs):
    return "".join(playlists.media_playlist(entries, HP, "../../segments/s/v/", **kwargs))


def test_media_playlist_exact_text():
    a, b, c = seg(T), seg(T + timedelta(seconds=2)), seg(T + timedelta(seconds=6), 1.5)
    assert text([None, a, b, None, None, c, None], endlist=False) == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:59:58.123Z\n#EXTINF:2.000,\n"
        f"../../segments/s/v/2026-01-02T03/59%3A58.123456-2.000-full-{HASH}.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T04:00:00.123Z\n#EXTINF:2.000,\n"
        f"../../segments/s/v/2026-01-02T04/00%3A00.123456-2.000-full-{HASH}.ts\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T04:00:04.123Z\n#EXTINF:1.500,\n"
        f"../../segments/s/v/2026-01-02T04/00%3A04.123456-1.500-full-{HASH}.ts\n")


def test_sequences_type_and_endlist():
    out = text([seg(T)], media_sequence=7, discontinuity_sequence=2, endlist=True,
               playlist_type="VOD")
    assert "#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n#EXT-X-PLAYLIST-TYPE:VOD\n" in out
    assert out.endswith("#EXT-X-ENDLIST\n")


def test_target_duration_rounds_up_and_extinf_to_milliseconds():
    odd = seg(T, name=f"59:58.1-2.0005-full-{HASH}.ts")._replace(
        start=T.replace(microsecond=100000), duration=timedelta(microseconds=2000500))
    out = text([odd])
    assert "#EXT-X-TARGETDURATION:3\n" in out
    assert "#EXTINF:2.001,\n" in out
    # A name with a short fraction is formatted from the time, not sliced.
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:59:58.100Z\n" in out
    assert playlists.target_duration([None]) == 1
    assert playlists.target_duration([seg(T, 6)]) == 6


def test_long_playlists_stream_in_chunks():
    segments = [seg(T + timedelta(seconds=2 * i)) for i in range(2500)]
    chunks = list(playlists.media_playlist(segments, HP, ""))
    assert len(chunks) >= 3
    assert "".join(chunks).count("#EXTINF") == 2500


def test_names_parse_back_from_uris():
    out = text([seg(T)])
    uri = out.splitlines()[-1].replace("%3A", ":")
    assert parse_segment_path("/base/s/v/" + uri.split("/s/v/")[1]).start == T


def test_master_playlist_text():
    out = playlists.master_playlist(
        [{"stream": "s", "name": "source", "bandwidth": 6000000.4, "resolution": "1920x1080",
          "codecs": "avc1.64002A,mp4a.40.2"},
         {"stream": "s", "name": "audio only", "bandwidth": 160000}], "start=x")
    assert out == (
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=6000000,RESOLUTION=1920x1080,'
        'CODECS="avc1.64002A,mp4a.40.2",NAME="source"\ns/source.m3u8?start=x\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=160000,NAME="audio only"\ns/audio%20only.m3u8?start=x\n')


def test_codecs_from_ffprobe():
    assert describe_streams([
        {"codec_type": "video", "codec_name": "h264", "profile": "High", "level": 42,
         "width": 1920, "height": 1080},
        {"codec_type": "audio", "codec_name": "aac", "profile": "LC"}]) == \
        ("1920x1080", "avc1.64002A,mp4a.40.2")
    # An unknown codec: no CODECS at all rather than a partial list.
    assert describe_streams([
        {"codec_type": "video", "codec_name": "hevc", "width": 640, "height": 360},
        {"codec_type": "audio", "codec_name": "aac", "profile": "LC"}]) == ("640x360", None)


# --- live ----------------------------------------------------------------------------------------

def on_time(segment):
    return segment.end + timedelta(seconds=1)


def listable(segments, now, arrival):
    """The live rules on one hour's files, as media_playlists does it."""
    return live.listed(live.on_time_chain(segments, arrival), now - live.SETTLE)


def test_live_listing_leaves_out_unsettled_and_late():
    now = T + timedelta(seconds=30)
    segments = [seg(T + timedelta(seconds=2 * i)) for i in range(14)]
    late = {segments[3].path}
    arrival = lambda s: now if s.path in late else on_time(s)  # noqa: E731
    listed = listable(segments, now, arrival)
    # Segments ending after now - 10 s are unsettled: up to index 9 (ends at T+20).
    assert [s for s, _ in listed] == segments[:3] + segments[4:10]
    assert [brk for _, brk in listed] == [False] * 3 + [True] + [False] * 5
    # A worse copy with the same start that arrived on time is listed instead of the late one
    # (and a partial one is followed by a discontinuity).
    alternative = seg(segments[3].start, type="partial")
    listed = listable(sorted(segments + [alternative], key=lambda s: s.start), now, arrival)
    assert listed[3] == (alternative, False) and listed[4] == (segments[4], True)
    # A late segment never displaces an on-time one, even one it overlaps with an earlier start.
    early = seg(segments[5].start - timedelta(seconds=1), type="full")
    late.add(early.path)
    listed = listable(sorted(segments + [early], key=lambda s: s.start), now, arrival)
    assert [s for s, _ in listed] == segments[:3] + segments[4:10]


def test_live_listing_from_an_origin_and_summary():
    now = T + timedelta(seconds=60)
    segments = [seg(T + timedelta(seconds=2 * i), type="partial" if i == 6 else "full")
                for i in range(20)]
    chain = live.on_time_chain(segments, on_time)
    # From an origin inside segment 2: it covers the origin, so it is the first listed.
    listed = live.listed(chain, now - live.SETTLE, origin=segments[2].start + timedelta(seconds=1))
    assert listed[0] == (segments[2], False) and len(listed) == 18
    summary = live.summarize(listed)
    assert summary == live.HourSummary(18, 1, False, segments[2].start, segments[19].end, False)
    # The Tally after it joins the next hour's first segment only within the tolerance.
    tally = live.advance(live.Tally(5, 1, segments[2].start, False), summary)
    assert tally == live.Tally(23, 2, segments[19].end, False)
    tally = live.advance(live.Tally(5, 1, segments[2].start - timedelta(seconds=1)), summary)
    assert tally.breaks == 3


def test_window_numbering():
    segments = [seg(T + timedelta(seconds=2 * i)) for i in range(6)]
    listed = [(s, i in (1, 4)) for i, s in enumerate(segments)]
    entries, sequence, discontinuities = live.window(listed, size=3)
    assert sequence == 3 and discontinuities == 1
    assert entries == [segments[3], None, segments[4], segments[5]]
    entries, sequence, discontinuities = live.window(listed, size=2)
    # The first shown segment's own break is folded into the sequence number.
    assert entries == [segments[4], segments[5]] and discontinuities == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40),
       st.integers(1, 10))
def test_reloads_only_append(layout, size):
    """Whatever arrives late, each segment keeps its (sequence, discontinuity) numbers."""
    segments, late = [], set()
    for i, (present, is_late) in enumerate(layout):
        if present:
            segments.append(seg(T + timedelta(seconds=2 * i)))
            if is_late:
                late.add(segments[-1].path)
    numbers = {}
    for step in range(len(layout) + 1):
        now = T + timedelta(seconds=2 * step + 10)
        visible = [s for s in segments if s.path not in late or s.end + timedelta(seconds=10) < now]
        arrival = lambda s: s.end + timedelta(seconds=60) if s.path in late else on_time(s)  # noqa
        entries, sequence, disc = live.window(listable(visible, now, arrival), size)
        n, d = sequence, disc
        for e in entries:
            if e is None:
                d += 1
                continue
            assert numbers.setdefault(e.path, (n, d)) == (n, d)
            n += 1


# --- params --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", ".", "..", ".hidden", "a/b", "a\x00b", "a\\b"])
def test_bad_components(value):
    with pytest.raises(BadRequest):
        check_component(value, "stream")


def test_ranges_and_durations():
    day = timedelta(days=1)
    assert parse_range({"start": "2026-01-02T03:04:05Z"}, day, "x", False) == (
        datetime(2026, 1, 2, 3, 4, 5), None)
    with pytest.raises(BadRequest, match="longer than the maximum 1d"):
        parse_range({"start": "2026-01-02T00:00:00", "end": "2026-01-03T00:00:01"}, day, "x", True)
    assert parse_duration("6h") == timedelta(hours=6)
    assert parse_duration("90") == timedelta(seconds=90)
    with pytest.raises(ValueError):
        parse_duration("soon")
    for endless in ("inf", "nan", "1e20d"):  # argparse shows a ValueError, not others
        with pytest.raises(ValueError):
            parse_duration(endless)
