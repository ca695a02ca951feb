"""Media playlists: parsing into entries, and telling which entries are new (pure logic).

Beyond one URI per segment, real servers publish (RFC 8216): byte ranges of a shared file
(`EXT-X-BYTERANGE`, the offset carried over from the previous range of the same URI when the tag
omits it), encryption (`EXT-X-KEY`), `EXT-X-GAP` (announced but absent: never fetched), and
low-latency parts and preload hints (`EXT-X-PART`, `EXT-X-PRELOAD-HINT`; Twitch's
`#EXT-X-TWITCH-PREFETCH`), which are ignored in favour of the full segments.
"""

from typing import NamedTuple, Optional
from urllib.parse import urljoin

import m3u8

from . import ads, problems
from .times import exact_duration, parse_pdt


class ByteRange(NamedTuple):
    offset: int
    length: int

    def header(self):
        """The HTTP Range header value for this range."""
        return f"bytes={self.offset}-{self.offset + self.length - 1}"

    def __str__(self):
        return f"{self.length}@{self.offset}"


class Key(NamedTuple):
    method: str          # "AES-128", "SAMPLE-AES", ... (upper case); NONE is no Key at all
    uri: Optional[str]   # absolute URL of the key
    iv: Optional[bytes]  # 16 bytes from the tag, or None: the media sequence number is the IV
    keyformat: str       # "identity" unless the tag says otherwise

    @property
    def supported(self):
        return self.method == "AES-128" and self.keyformat == "identity" and bool(self.uri)

    def problem(self):
        """(problems reason, description) if this key cannot be handled, else None."""
        if self.supported:
            return None
        if self.method != "AES-128":
            return problems.UNSUPPORTED_METHOD, f"METHOD={self.method[:40]}"
        if self.keyformat != "identity":
            return problems.UNSUPPORTED_KEYFORMAT, f"AES-128, KEYFORMAT={self.keyformat[:80]}"
        return problems.KEY_UNAVAILABLE, "AES-128 without a key URI"


class Entry(NamedTuple):
    uri: str            # absolute URL of the segment
    duration: object    # timedelta
    pdt: object         # naive UTC datetime, or None if the segment has no stamp
    title: str
    discontinuity: bool
    ad: bool
    init_uri: object    # absolute URL of the EXT-X-MAP init section, or None
    seq: int = 0                        # media sequence number
    byterange: Optional[ByteRange] = None
    key: Optional[Key] = None           # encryption, None if clear
    gap: bool = False                   # EXT-X-GAP: announced but absent
    init_range: Optional[ByteRange] = None
    bad: Optional[str] = None           # why this entry cannot be fetched (malformed), or None

    @property
    def id(self):
        """What makes a segment the same segment: its URI and byte range."""
        return (self.uri, self.byterange)

    def describe(self):
        return f"{self.uri} [{self.byterange}]" if self.byterange else self.uri


class MediaPlaylist(NamedTuple):
    entries: list
    ended: bool               # EXT-X-ENDLIST seen
    target_duration: float    # seconds, or None


def parse_iv(text):
    """An EXT-X-KEY IV attribute (0x + 32 hex digits) as 16 bytes; ValueError if malformed."""
    if not text:
        return None
    digits = text[2:] if text[:2] in ("0x", "0X") else ""
    if len(digits) != 32:
        raise ValueError(f"bad IV {text!r}: want 0x and 32 hex digits")
    return bytes.fromhex(digits)


def _key(segment, url):
    key = segment.key
    if key is None or (key.method or "NONE").upper() == "NONE":
        return None
    iv = parse_iv(key.iv)  # ValueError: the entry is bad
    return Key(key.method.upper(), urljoin(url, key.uri) if key.uri else None, iv,
               (key.keyformat or "identity").lower())


def _byterange(text, uri, ends):
    """Parse `length[@offset]`; without an offset the range follows the previous range of the
    same URI (`ends`: URI -> end of its last range). ValueError if it cannot be placed."""
    length, at, offset = str(text).partition("@")
    length = int(length)
    if at:
        offset = int(offset)
    elif uri in ends:
        offset = ends[uri]
    else:
        raise ValueError(f"byte range {text} without an offset and no previous range of {uri}")
    if length <= 0 or offset < 0:
        raise ValueError(f"bad byte range {text}")
    ends[uri] = offset + length
    return ByteRange(offset, length)


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
    # A trailing run of LL-HLS parts comes out as a segment without a URI: not a segment yet.
    segments = [s for s in playlist.segments if s.uri]
    intervals = []
    for segment in segments:
        for daterange in segment.dateranges or ():
            if ads.is_ad_daterange(daterange):
                interval = ads.ad_interval(daterange)
                if interval is not None:
                    intervals.append(interval)
    entries = []
    ends = {}  # URI -> end of its last byte range, for ranges that omit their offset
    for segment in segments:
        entries.append(_entry(segment, url, intervals, ends))
    return MediaPlaylist(entries, bool(playlist.is_endlist), playlist.target_duration)


def _entry(segment, url, intervals, ends):
    pdt = parse_pdt(segment.program_date_time) if segment.program_date_time else None
    own_ad = any(ads.is_ad_daterange(d) for d in segment.dateranges or ())
    ad = own_ad or ads.is_ad_title(segment.title) or ads.in_intervals(pdt, intervals)
    uri = urljoin(url, segment.uri)
    bad = byterange = key = init_uri = init_range = None
    try:
        key = _key(segment, url)
        if segment.byterange:
            byterange = _byterange(segment.byterange, uri, ends)
        if segment.init_section is not None and segment.init_section.uri:
            init_uri = urljoin(url, segment.init_section.uri)
            if segment.init_section.byterange:
                init_range = _byterange(segment.init_section.byterange, init_uri, {})
    except ValueError as e:
        bad = str(e)
    return Entry(
        uri=uri,
        duration=exact_duration(segment.duration),
        pdt=pdt,
        title=segment.title or "",
        discontinuity=bool(segment.discontinuity),
        ad=ad,
        init_uri=init_uri,
        seq=segment.media_sequence or 0,
        byterange=byterange,
        key=key,
        gap=bool(getattr(segment, "gap_tag", None)),
        init_range=init_range,
        bad=bad,
    )


def new_entries(entries, known):
    """Yield (entry, previous) for entries not in `known` (a dict entry.id -> (start, duration)).

    `previous` is the (start, duration) of the entry just before it if that one's start is
    known and no discontinuity lies between, else None. The caller records each entry's start
    into `known` as it goes, so later entries can count from it."""
    before = None
    for entry in entries:
        previous = None
        # Ads and discontinuities break the timeline: never count across them.
        if before is not None and not before.ad and not entry.discontinuity:
            previous = known.get(before.id)
        if entry.id not in known:
            yield entry, previous
        before = entry
