"""Media playlists: parsing into entries, and telling which entries are new (pure logic)."""

from typing import NamedTuple
from urllib.parse import urljoin

import m3u8

from . import ads
from .times import exact_duration, parse_pdt


class Entry(NamedTuple):
    uri: str            # absolute URL of the segment
    duration: object    # timedelta
    pdt: object         # naive UTC datetime, or None if the segment has no stamp
    title: str
    discontinuity: bool
    ad: bool
    init_uri: object    # absolute URL of the EXT-X-MAP init section, or None


class MediaPlaylist(NamedTuple):
    entries: list
    ended: bool               # EXT-X-ENDLIST seen
    target_duration: float    # seconds, or None


def parse_media_playlist(text, url):
    """Parse a media playlist; ValueError if it is not one (or is not a playlist at all)."""
    if not text.lstrip().startswith("#EXTM3U"):
        raise ValueError("not an HLS playlist (no #EXTM3U header)")
    try:
        playlist = m3u8.loads(text, uri=url)
    except Exception as e:  # m3u8 raises assorted errors on malformed input
        raise ValueError(f"unparseable playlist: {e}")
    if playlist.is_variant:
        raise ValueError("expected a media playlist, got a master playlist")
    segments = list(playlist.segments)
    intervals = []
    for segment in segments:
        for daterange in segment.dateranges or ():
            if ads.is_ad_daterange(daterange):
                interval = ads.ad_interval(daterange)
                if interval is not None:
                    intervals.append(interval)
    entries = []
    for segment in segments:
        pdt = parse_pdt(segment.program_date_time) if segment.program_date_time else None
        own_ad = any(ads.is_ad_daterange(d) for d in segment.dateranges or ())
        ad = own_ad or ads.is_ad_title(segment.title) or ads.in_intervals(pdt, intervals)
        init_uri = None
        if segment.init_section is not None and segment.init_section.uri:
            init_uri = urljoin(url, segment.init_section.uri)
        entries.append(Entry(
            uri=urljoin(url, segment.uri),
            duration=exact_duration(segment.duration),
            pdt=pdt,
            title=segment.title or "",
            discontinuity=bool(segment.discontinuity),
            ad=ad,
            init_uri=init_uri,
        ))
    return MediaPlaylist(entries, bool(playlist.is_endlist), playlist.target_duration)


def new_entries(entries, known):
    """Yield (entry, previous) for entries not in `known` (a dict uri -> (start, duration)).

    `previous` is the (start, duration) of the entry just before it if that one's start is
    known and no discontinuity lies between, else None. The caller records each entry's start
    into `known` as it goes, so later entries can count from it."""
    before = None
    for entry in entries:
        previous = None
        # Ads and discontinuities break the timeline: never count across them.
        if before is not None and not before.ad and not entry.discontinuity:
            previous = known.get(before.uri)
        if entry.uri not in known:
            yield entry, previous
        before = entry
