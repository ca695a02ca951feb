"""The master playlist's audio groups (pure: variant.json files in, playlist text out)."""

import os

from common import renditions
from restreamer import audio_groups, playlists


def info(name, bandwidth, codecs=None, **extra):
    return dict({"stream": "s", "name": name, "bandwidth": bandwidth,
                 "average_bandwidth": bandwidth // 2}, **({"codecs": codecs} if codecs else {}),
                **extra)


def test_audio_renditions_become_an_audio_group_of_the_variants_using_them(tmp_path):
    base = str(tmp_path)
    for name in ("source", "360p"):
        renditions.write_info(os.path.join(base, "s", name),
                              renditions.video_info(["audio-en", "audio-de"]))
    renditions.write_info(os.path.join(base, "s", "audio-en"),
                          {"type": "audio", "name": "English", "language": "en", "default": True})
    renditions.write_info(os.path.join(base, "s", "audio-de"),
                          {"type": "audio", "name": "Deutsch", "language": "de"})
    renditions.write_info(os.path.join(base, "s", "audio-xx"), {"type": "audio", "name": "X"})
    infos = [info("source", 3_000_000, "avc1.64001F", resolution="1280x720"),
             info("360p", 800_000), info("audio-en", 128_000, "mp4a.40.2"),
             info("audio-de", 96_000, "mp4a.40.2"), info("audio-xx", 64_000, "mp4a.40.2")]
    variants, audio = audio_groups.split(base, "s", infos)
    # A rendition no variant uses (audio-xx) stays a variant of its own.
    assert [v["name"] for v in variants] == ["source", "360p", "audio-xx"]
    source, low = variants[0], variants[1]
    assert source["audio"] == low["audio"] == "audio"
    assert source["bandwidth"] == 3_128_000 and source["average_bandwidth"] == 1_564_000
    assert source["codecs"] == "avc1.64001F,mp4a.40.2"
    assert "codecs" not in low      # its video codec is unknown: no partial list
    assert [(a["variant"], a["name"], a["default"]) for a in audio] == [
        ("audio-en", "English", True), ("audio-de", "Deutsch", False)]

    text = "".join(playlists.master_playlist(variants, "start=x", audio))
    lines = text.splitlines()
    assert lines[2] == ('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",'
                        'DEFAULT=YES,AUTOSELECT=YES,URI="s/audio-en.m3u8?start=x"')
    assert lines[3].startswith('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Deutsch",')
    assert 'AUDIO="audio"' in lines[4] and lines[5] == "s/source.m3u8?start=x"
    assert "AUDIO=" not in lines[lines.index("s/audio-xx.m3u8?start=x") - 1]


def test_variants_without_variant_json_are_listed_as_before(tmp_path):
    infos = [info("source", 1000, "avc1.64001F,mp4a.40.2"), info("180p", 500)]
    assert audio_groups.split(str(tmp_path), "s", infos) == (infos, [])
