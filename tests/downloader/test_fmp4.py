"""Fragmented-MP4 variants: the init section is fetched once and prepended to every file."""

import re
import subprocess

import pytest

from support.hls_origin import HLSOrigin, archived
from support.waiting import wait_for


@pytest.fixture(scope="module")
def fmp4_origin(tmp_path_factory):
    origin = HLSOrigin(tmp_path_factory.mktemp("fmp4_origin"), segment_duration=1,
        sizes=((160, 90),), fmp4=True).start()
    yield origin
    origin.stop()


def test_init_section_prepended_once_fetched(fmp4_origin, run_downloader, tmp_path):
    channel = fmp4_origin.channel()
    base = str(tmp_path / "archive")
    run_downloader(channel.master_url, base_dir=base)
    fulls = wait_for(lambda: (lambda f: f if len(f) >= 3 else None)(
        [s for s in archived(base, "test", "source") if s.type == "full"]), 10, "3 segments")
    init_name = re.search(r'#EXT-X-MAP:URI="([^"]+)"', fmp4_origin.read_playlist(0)).group(1)
    with open(f"{fmp4_origin.directory}/v0/{init_name}", "rb") as f:
        init = f.read()
    by_start = {pdt: path for pdt, _, path in fmp4_origin.history[0].values()}
    for segment in fulls:
        with open(segment.path, "rb") as f:
            data = f.read()
        with open(by_start[segment.start], "rb") as f:
            assert data == init + f.read()
    assert sum(1 for r in channel.requests if r[0] == "init") == 1
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type",
        "-of", "csv=p=0", fulls[-1].path], capture_output=True, text=True)
    assert probe.returncode == 0 and "video" in probe.stdout
