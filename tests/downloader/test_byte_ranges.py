"""A live origin whose segments are byte ranges of one growing file (ffmpeg's
`-hls_flags single_file`, `#EXT-X-BYTERANGE`): one archive file per range, fetched with HTTP
Range, and right even from a server that ignores Range and sends the whole file."""

import pytest

from support.hls_origin import HLSOrigin
from support.stream_checks import assert_all_decode, assert_no_duplicate_bytes, read, stored
from support.waiting import wait_for


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    origin = HLSOrigin(tmp_path_factory.mktemp("byterange_origin"), sizes=((160, 90),),
                       single_file=True).start()
    assert all(d.byterange for d in origin.details[0].values())
    yield origin
    origin.stop()


@pytest.mark.parametrize("ignore_ranges", [False, True], ids=["206", "200-whole-file"])
def test_each_range_is_stored_as_its_own_segment(origin, run_downloader, tmp_path,
                                                  ignore_ranges):
    channel = origin.channel()
    channel.ignore_ranges = ignore_ranges
    base = str(tmp_path / "archive")
    first = origin.next_seq()
    manager = run_downloader(channel.master_url, base_dir=base)
    origin.wait_for_seq(first + 4)
    last = first + 3
    newest = origin.history[0][last][0]
    wait_for(lambda: any(s.start == newest for s in stored(base, "test", "source")), 10,
             "the newest ranges to be stored")
    manager.stop(timeout=5)

    segments = stored(base, "test", "source")
    assert stored(base, "test", "source", ("partial", "suspect", "temp")) == []
    by_start = {s.start: s for s in segments}
    assert len(by_start) == len(segments)  # one file per segment
    for seq in range(first, last + 1):
        pdt, duration, path = origin.history[0][seq]
        segment = by_start[pdt]
        assert segment.duration == duration
        assert read(segment.path) == read(path, origin.details[0][seq].byterange)
    statuses = {status for kind, _, _, _, status, _ in channel.requests if kind == "range"}
    assert statuses == ({200} if ignore_ranges else {206})
    assert_all_decode(segments, ["audio", "video"])
    assert_no_duplicate_bytes(segments)
