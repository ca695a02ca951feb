"""HLS playlist text (RFC 8216) from segment lists. Pure functions, no I/O.

Media playlists of days hold tens of thousands of segments (8 MB of text for 24 hours), so
they are generated as a stream of chunks, formatted directly rather than through an object
model: this is the restreamer's hottest path.
"""

from urllib.parse import quote

from common.segments import start_text

VERSION = 3  # decimal EXTINF durations
CHUNK_SEGMENTS = 1000


def _millis(duration):
    """timedelta -> whole milliseconds, rounded half up (as EXTINF shows it)."""
    return (duration.days * 86_400_000_000 + duration.seconds * 1_000_000
            + duration.microseconds + 500) // 1000


def target_duration(segments):
    """EXT-X-TARGETDURATION: an integer >= every EXTINF as written, rounded up; at least 1."""
    longest = max((_millis(s.duration) for s in segments if s is not None), default=1000)
    return max(1, -(-longest // 1000))


def segment_uri_prefix(stream, variant):
    """Relative URI from /playlist/STREAM/VARIANT.m3u8 to /segments/STREAM/VARIANT/."""
    return f"../../segments/{quote(stream, safe='')}/{quote(variant, safe='')}/"


def media_playlist(entries, hours_path, uri_prefix, media_sequence=0, discontinuity_sequence=0,
                   endlist=False, playlist_type=None):
    """Yield the text of a media playlist in chunks (str).

    entries: SegmentInfo objects in order, with None standing for a discontinuity before the
    next segment (a get_best_segments result). Nones before the first segment or after the
    last are dropped. hours_path: BASE/STREAM/VARIANT, the prefix of every segment's path.
    """
    header = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}",
              f"#EXT-X-TARGETDURATION:{target_duration(entries)}",
              f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}"]
    if discontinuity_sequence:
        header.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    if playlist_type:
        header.append(f"#EXT-X-PLAYLIST-TYPE:{playlist_type}")
    yield "\n".join(header) + "\n"
    cut = len(hours_path.rstrip("/")) + 1
    extinf = {}  # duration -> EXTINF line: archives hold only a few distinct durations
    lines = []
    append = lines.append
    count = 0
    pending_break = False
    started = False
    for segment in entries:
        if segment is None:
            pending_break = started
            continue
        if pending_break:
            append("#EXT-X-DISCONTINUITY\n")
            pending_break = False
        started = True
        rel = segment.path[cut:]  # HOUR/NAME
        pdt = start_text(rel) or segment.start.isoformat(timespec="milliseconds")
        line = extinf.get(segment.duration)
        if line is None:
            millis = _millis(segment.duration)
            line = extinf[segment.duration] = f"Z\n#EXTINF:{millis // 1000}.{millis % 1000:03d},\n"
        append(f"#EXT-X-PROGRAM-DATE-TIME:{pdt}{line}{uri_prefix}{rel.replace(':', '%3A')}\n")
        count += 1
        if count == CHUNK_SEGMENTS:
            yield "".join(lines)
            lines.clear()
            count = 0
    if endlist:
        append("#EXT-X-ENDLIST\n")
    if lines:
        yield "".join(lines)


def _quoted(text):
    """A quoted-string may not hold '"' or line breaks."""
    return str(text).replace('"', "'").replace("\n", " ").replace("\r", " ")


def master_playlist(variants, query, audio=()):
    """Master playlist text. variants: dicts with name, bandwidth (bits/s, required),
    average_bandwidth, resolution ('WxH'), codecs and audio (a group id; optional), sorted as
    given. audio: dicts with group, name, language, default, stream and variant for the
    #EXT-X-MEDIA audio renditions (audio_groups.split).
    query: the query string to pass on to each media playlist ('' for none)."""
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{VERSION}"]
    suffix = f"?{query}" if query else ""
    for a in audio:
        attrs = ["TYPE=AUDIO", f'GROUP-ID="{_quoted(a["group"])}"', f'NAME="{_quoted(a["name"])}"']
        if a.get("language"):
            attrs.append(f'LANGUAGE="{_quoted(a["language"])}"')
        attrs += [f"DEFAULT={'YES' if a['default'] else 'NO'}", "AUTOSELECT=YES",
                  f'URI="{quote(a["stream"], safe="")}/{quote(a["variant"], safe="")}.m3u8'
                  f'{_quoted(suffix)}"']
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    for v in variants:
        attrs = [f"BANDWIDTH={int(v['bandwidth'])}"]
        if v.get("average_bandwidth"):
            attrs.append(f"AVERAGE-BANDWIDTH={int(v['average_bandwidth'])}")
        if v.get("resolution"):
            attrs.append(f"RESOLUTION={v['resolution']}")
        if v.get("codecs"):
            attrs.append(f'CODECS="{v["codecs"]}"')
        if v.get("audio"):
            attrs.append(f'AUDIO="{_quoted(v["audio"])}"')
        attrs.append(f'NAME="{_quoted(v["name"])}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(f"{quote(v['stream'], safe='')}/{quote(v['name'], safe='')}.m3u8{suffix}")
    return "\n".join(lines) + "\n"
