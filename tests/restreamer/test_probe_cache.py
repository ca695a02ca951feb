"""The restreamer's cache of ffprobe answers per variant: re-probed after PROBE_MAX_AGE (a
stream may change resolution under the same variant name), and bounded (real ffprobe on real
segments)."""

import subprocess

import pytest

from restreamer import variants
from support.binaries import require


def segment(path, size):
    require("ffmpeg", "ffmpeg")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10:duration=1",
                    "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", str(path)],
                   check=True)
    return str(path)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def cache(monkeypatch):
    monkeypatch.setattr(variants, "_probe_cache", {})
    return variants._probe_cache


def test_a_new_resolution_shows_once_the_answer_is_old(tmp_path, cache):
    before = segment(tmp_path / "a.ts", "320x180")
    after = segment(tmp_path / "b.ts", "160x90")
    clock = Clock()
    assert variants.probe_variant("s", "source", before, clock)[0] == "320x180"
    clock.now += variants.PROBE_MAX_AGE - 1
    assert variants.probe_variant("s", "source", after, clock)[0] == "320x180"
    clock.now += 2
    assert variants.probe_variant("s", "source", after, clock)[0] == "160x90"


def test_a_failed_probe_keeps_the_old_answer(tmp_path, cache):
    good = segment(tmp_path / "a.ts", "320x180")
    broken = tmp_path / "broken.ts"
    broken.write_bytes(b"not video")
    clock = Clock()
    variants.probe_variant("s", "source", good, clock)
    clock.now += variants.PROBE_MAX_AGE + 1
    assert variants.probe_variant("s", "source", str(broken), clock)[0] == "320x180"


def test_only_the_newest_variants_are_kept(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(variants, "PROBE_CACHE_SIZE", 3)
    path = segment(tmp_path / "a.ts", "320x180")
    for i in range(10):
        assert variants.probe_variant("s", f"v{i}", path, Clock())[0] == "320x180"
    assert sorted(cache) == [("s", "v7"), ("s", "v8"), ("s", "v9")]
