"""Separate audio renditions in the master playlist: `#EXT-X-MEDIA` audio groups.

A video variant whose sound the downloader recorded as a rendition of its own (common.renditions)
is advertised with `AUDIO="GROUP"`, and the rendition as `#EXT-X-MEDIA:TYPE=AUDIO` in that group
instead of as a variant, so players fetch picture and sound together. Its BANDWIDTH and CODECS
then include the audio's (RFC 8216 section 4.3.4.2).
"""

import os

from common import renditions


def split(base_dir, stream, infos):
    """(video variant infos, audio rendition dicts) from variant infos (variants.variant_info,
    in the order to list them). A video info that plays with audio gets "audio" (its group id);
    each rendition dict has group, name, language, default, stream and variant. Audio
    renditions no video variant uses stay variants of their own."""
    meta = {i["name"]: renditions.read_info(os.path.join(base_dir, stream, i["name"]))
            for i in infos}
    audio = {i["name"]: i for i in infos if renditions.is_audio_rendition(meta[i["name"]])}
    groups = {}  # tuple of rendition names -> group id
    media, videos, used = [], [], set()
    for info in infos:
        if info["name"] in audio:
            continue
        names = tuple(n for n in renditions.audio_names(meta[info["name"]]) if n in audio)
        if names:
            if names not in groups:
                groups[names] = "audio" if not groups else f"audio{len(groups) + 1}"
                media += _group(groups[names], names, meta, stream)
            used.update(names)
            info = _with_audio(info, groups[names], [audio[n] for n in names])
        videos.append(info)
    videos += [info for name, info in audio.items() if name not in used]
    return videos, media


def _group(group_id, names, meta, stream):
    entries, titles = [], set()
    for i, name in enumerate(names):
        title = str(meta[name].get("name") or name)
        if title in titles:  # NAME is unique within a group
            title = name
        titles.add(title)
        language = meta[name].get("language")
        entries.append({"group": group_id, "name": title, "default": i == 0, "stream": stream,
                        "variant": name,
                        "language": language if isinstance(language, str) else None})
    return entries


def _with_audio(info, group_id, audio_infos):
    info = dict(info, audio=group_id)
    info["bandwidth"] += max(a["bandwidth"] for a in audio_infos)
    if info.get("average_bandwidth"):
        info["average_bandwidth"] += max(a.get("average_bandwidth") or 0 for a in audio_infos)
    codecs = [info.get("codecs")] + [a.get("codecs") for a in audio_infos]
    if all(codecs):   # a partial list would mislead players: all or none
        info["codecs"] = ",".join(dict.fromkeys(c for cs in codecs for c in cs.split(",")))
    else:
        info.pop("codecs", None)
    return info
