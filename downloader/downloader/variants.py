"""Naming the variants of a master playlist (pure logic, no I/O).

Twitch names its variants in EXT-X-MEDIA tags (NAME / GROUP-ID), with the source variant in
GROUP-ID "chunked" or a NAME containing "source". Other servers (ffmpeg's muxer, most CDNs) give
no names: there the highest-bandwidth variant is `source` and the others are named from their
resolution and frame rate the way Twitch does (`360p`, `720p60`), `audio_only` for audio.
"""

import re
from typing import NamedTuple
from urllib.parse import urljoin

import m3u8


class Variant(NamedTuple):
    name: str
    url: str
    bandwidth: int


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
    """The EXT-X-MEDIA entry naming this variant's video (or audio) group, if any."""
    for group_type, group_id in (("VIDEO", stream_info.video), ("AUDIO", stream_info.audio)):
        if not group_id:
            continue
        for media in playlist.media:
            if media.type == group_type and media.group_id == group_id:
                return media
    return None


def name_variants(text, base_url):
    """Parse a master playlist into a list of Variant, names unique, `source` first if any.

    Raises ValueError if the text is not a master playlist.
    """
    playlist = m3u8.loads(text, uri=base_url)
    if not playlist.is_variant:
        raise ValueError("not a master playlist (no EXT-X-STREAM-INF)")
    if not playlist.playlists:
        raise ValueError("master playlist lists no variants")
    named = []  # (name, is_named_by_server, variant playlist)
    for pl in playlist.playlists:
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
    taken = set()
    for name, _, pl in named:
        info = pl.stream_info
        if name is None:
            name = resolution_name(info.resolution, info.frame_rate, info.codecs)
        name = unique_name(name, taken)
        taken.add(name)
        result.append(Variant(name, urljoin(base_url, pl.uri), info.bandwidth or 0))
    result.sort(key=lambda v: (v.name != "source", -v.bandwidth))
    return result


def unique_name(name, taken):
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


def select_variants(variants, qualities):
    """Pick the wanted variants: qualities is a list of names, or ["all"].

    Returns (chosen {name: Variant}, missing [names])."""
    by_name = {v.name: v for v in variants}
    if "all" in qualities:
        return by_name, []
    chosen = {q: by_name[q] for q in qualities if q in by_name}
    missing = [q for q in qualities if q not in by_name]
    return chosen, missing
