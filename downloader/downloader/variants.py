"""Naming the variants of a master playlist (pure logic, no I/O).

Twitch names its variants in EXT-X-MEDIA tags of TYPE=VIDEO (NAME / GROUP-ID), with the source
variant in GROUP-ID "chunked" or a NAME containing "source". Other servers (ffmpeg's muxer, most
CDNs) give no names: there the highest-bandwidth variant is `source` and the others are named
from their resolution and frame rate the way Twitch does (`360p`, `720p60`), `audio_only` for
audio.

A variant whose AUDIO group lists renditions with a URI plays its sound from those separate
playlists: each such rendition is recorded as a variant of its own named `audio-LANGUAGE` (or
after its NAME), and the video variant lists them in `audio`. A STREAM-INF that only points at
such a rendition's playlist (ffmpeg writes one) is that rendition, not another variant.
Subtitles renditions are not recorded.
"""

import re
from typing import NamedTuple, Optional
from urllib.parse import urljoin

import m3u8


class Variant(NamedTuple):
    name: str
    url: str
    bandwidth: int
    audio: tuple = ()                # names of the audio renditions it plays with (default first)
    rendition: Optional[dict] = None  # for an audio rendition: type, name, language, default


class Master(NamedTuple):
    variants: list      # Variant: the video (or muxed) variants, then the audio renditions
    subtitles: int      # subtitles renditions listed (ignored)


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def clean_name(name):
    """A name safe as a directory: lower case, no spaces, no separators, never dot-leading."""
    name = re.sub(r"\s*\(source\)\s*", "", name, flags=re.IGNORECASE)
    name = _UNSAFE.sub("_", name.strip().lower()).strip("_.")
    return name or "unnamed"


def is_source_name(name, group_id):
    return (group_id or "").lower() == "chunked" or "source" in (name or "").lower()


def resolution_name(resolution, frame_rate, codecs):
    """`360p`, `720p60` (frame rate shown only above 30 fps), or `audio_only`."""
    if not resolution:
        if codecs and all(c.strip().startswith("mp4a") for c in codecs.split(",")):
            return "audio_only"
        return "unknown"
    height = resolution[1]
    name = f"{height}p"
    if frame_rate and round(frame_rate) > 30:
        name += str(round(frame_rate))
    return name


def _media_for(playlist, stream_info):
    """The EXT-X-MEDIA entry naming this variant's video group (Twitch's names), if any. An
    AUDIO group names the sound, not the variant."""
    if stream_info.video:
        for media in playlist.media:
            if media.type == "VIDEO" and media.group_id == stream_info.video:
                return media
    return None


def audio_renditions(playlist, base_url):
    """{group id: [Variant of each rendition with a URI]}, named audio-LANGUAGE (or NAME),
    unique; the group's DEFAULT=YES rendition first."""
    groups = {}
    taken = set()
    for media in playlist.media:
        if media.type != "AUDIO" or not media.uri:
            continue
        label = media.language or media.name or media.group_id or "audio"
        name = unique_name("audio-" + clean_name(label), taken)
        taken.add(name)
        default = (media.default or "").upper() == "YES"
        info = {"type": "audio", "name": media.name or name, "default": default}
        if media.language:
            info["language"] = media.language
        groups.setdefault(media.group_id, []).append(
            Variant(name, urljoin(base_url, media.uri), 0, rendition=info))
    for renditions in groups.values():
        renditions.sort(key=lambda v: not v.rendition["default"])  # stable: default first
    return groups


def name_variants(text, base_url):
    """The variants of a master playlist (Master.variants). ValueError if it is not one."""
    return parse_master(text, base_url).variants


def parse_master(text, base_url):
    """Parse a master playlist into a Master: variants with unique names, `source` first if
    any, then the audio renditions. Raises ValueError if the text is not a master playlist.
    """
    playlist = m3u8.loads(text, uri=base_url)
    if not playlist.is_variant:
        raise ValueError("not a master playlist (no EXT-X-STREAM-INF)")
    if not playlist.playlists:
        raise ValueError("master playlist lists no variants")
    groups = audio_renditions(playlist, base_url)
    rendition_urls = {r.url for renditions in groups.values() for r in renditions}
    named = []  # (name, is_named_by_server, variant playlist)
    for pl in playlist.playlists:
        if urljoin(base_url, pl.uri) in rendition_urls:
            continue  # an audio rendition's own playlist listed as a variant: recorded as such
        info = pl.stream_info
        media = _media_for(playlist, info)
        if media is not None and (media.name or media.group_id):
            if is_source_name(media.name, media.group_id):
                name = "source"
            elif (media.group_id or "").lower() == "audio_only" or (media.name or "").lower() == "audio_only":
                name = "audio_only"
            else:
                name = clean_name(media.name or media.group_id)
            named.append((name, True, pl))
        else:
            named.append((None, False, pl))
    if not any(name == "source" for name, _, _ in named):
        # Nobody claimed to be the source: the highest bandwidth one is.
        unnamed = [item for item in named if not item[1]]
        if unnamed:
            best = max(unnamed, key=lambda item: item[2].stream_info.bandwidth or 0)
            named[named.index(best)] = ("source", True, best[2])
    result = []
    taken = {r.name for renditions in groups.values() for r in renditions}
    for name, _, pl in named:
        info = pl.stream_info
        if name is None:
            name = resolution_name(info.resolution, info.frame_rate, info.codecs)
        name = unique_name(name, taken)
        taken.add(name)
        audio = tuple(r.name for r in groups.get(info.audio, ())) if info.audio else ()
        result.append(Variant(name, urljoin(base_url, pl.uri), info.bandwidth or 0, audio))
    result.sort(key=lambda v: (v.name != "source", -v.bandwidth))
    result += [r for renditions in groups.values() for r in renditions]
    subtitles = sum(1 for media in playlist.media if media.type == "SUBTITLES")
    return Master(result, subtitles)


def unique_name(name, taken):
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def select_variants(variants, qualities):
    """Pick the wanted variants: qualities is a list of names, or ["all"]; with each chosen
    variant come the audio renditions it plays with.

    Returns (chosen {name: Variant}, missing [names])."""
    by_name = {v.name: v for v in variants}
    if "all" in qualities:
        return by_name, []
    chosen = {q: by_name[q] for q in qualities if q in by_name}
    missing = [q for q in qualities if q not in by_name]
    for variant in list(chosen.values()):
        for name in variant.audio:
            if name in by_name:
                chosen.setdefault(name, by_name[name])
    return chosen, missing
