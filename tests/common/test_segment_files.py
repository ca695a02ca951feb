import errno
import hashlib
import os
import time
from datetime import datetime, timedelta

import pytest

from common.segment_files import HashMismatch, SegmentWriter, hash_file, recover_temp_files
from common.segments import hash_name, parse_segment_path

START = datetime(2026, 11, 27, 13, 45, 51, 608000)
DUR = timedelta(seconds=2)


def files(base):
    return sorted(name for _, _, names in os.walk(base) for name in names)


def test_writes_full_segment_named_by_its_hash(tmp_path):
    with SegmentWriter(str(tmp_path), "s", "source", START, DUR) as w:
        w.write(b"abc")
        w.write(b"def")
        path = w.finish("full")
    seg = parse_segment_path(path)
    assert seg.type == "full" and seg.start == START and seg.duration == DUR
    assert seg.hash == hash_name(hashlib.sha256(b"abcdef").digest()) == hash_file(path)
    assert open(path, "rb").read() == b"abcdef"
    assert files(tmp_path) == [os.path.basename(path)]


def test_empty_segment_is_suspect(tmp_path):
    with SegmentWriter(str(tmp_path), "s", "v", START, DUR) as w:
        assert parse_segment_path(w.temp_path).type == "temp"
        path = w.finish("full")
    assert parse_segment_path(path).type == "suspect"


def test_exception_leaves_no_temp_file(tmp_path):
    with pytest.raises(RuntimeError):
        with SegmentWriter(str(tmp_path), "s", "v", START, DUR) as w:
            w.write(b"abc")
            raise RuntimeError("connection lost")
    assert files(tmp_path) == []


def test_a_second_copy_of_the_same_bytes_leaves_the_first_untouched(tmp_path):
    # Its mtime is when it arrived (the restreamer's live playlists list it by that).
    with SegmentWriter(str(tmp_path), "s", "v", START, DUR) as w:
        w.write(b"abc")
        first = w.finish("partial")
    os.utime(first, (1_000_000, 1_000_000))
    with SegmentWriter(str(tmp_path), "s", "v", START, DUR) as w:
        w.write(b"abc")
        second = w.finish("partial")
    assert second == first and os.stat(first).st_mtime == 1_000_000
    assert files(tmp_path) == [os.path.basename(first)]


def on_full_disk(writer, buffering):
    """The writer's file replaced by /dev/full: every write that reaches it fails with ENOSPC,
    as on a full filesystem."""
    writer._file.close()
    writer._file = open("/dev/full", "wb", buffering=buffering)


@pytest.mark.parametrize("buffering", [0, -1], ids=["failing write", "failing flush"])
@pytest.mark.parametrize("kind", ["full", "partial"])
def test_full_disk_never_gives_a_file_named_by_bytes_it_lacks(tmp_path, buffering, kind):
    # The chunk that failed must not count: neither as a partial nor as an empty "suspect"
    # named by the hash of bytes that never reached the disk.
    with pytest.raises(OSError) as raised:
        with SegmentWriter(str(tmp_path), "s", "v", START, DUR) as w:
            on_full_disk(w, buffering)
            try:
                w.write(b"x" * 1000)
            finally:
                w.finish(kind)
    assert raised.value.errno == errno.ENOSPC
    assert files(tmp_path) == []


def test_hash_mismatch_deletes(tmp_path):
    with SegmentWriter(str(tmp_path), "s", "v", START, DUR) as w:
        w.write(b"abc")
        with pytest.raises(HashMismatch):
            w.finish("full", expected_hash=hash_name(hashlib.sha256(b"other").digest()))
    assert files(tmp_path) == []


def test_recover_temp_files(tmp_path):
    hour = tmp_path / "s" / "v" / "2026-11-27T13"
    hour.mkdir(parents=True)
    old = hour / "45:51.608000-2.000-temp-abc.ts"
    old.write_bytes(b"captured")
    empty = hour / "45:53.608000-2.000-temp-def.ts"
    empty.write_bytes(b"")
    young = hour / "45:55.608000-2.000-temp-ghi.ts"
    young.write_bytes(b"being written")
    past = time.time() - 600
    for p in (old, empty):
        os.utime(p, (past, past))
    recovered = recover_temp_files(str(hour))
    assert len(recovered) == 1
    seg = parse_segment_path(recovered[0])
    assert seg.type == "partial" and seg.hash == hash_name(hashlib.sha256(b"captured").digest())
    assert seg.start == START
    assert sorted(os.listdir(hour)) == sorted([os.path.basename(recovered[0]), young.name])


def test_recover_temp_files_with_a_trailing_slash(tmp_path):
    hour = tmp_path / "s" / "v" / "2026-11-27T13"
    hour.mkdir(parents=True)
    old = hour / "45:51.608000-2.000-temp-abc.ts"
    old.write_bytes(b"captured")
    past = time.time() - 600
    os.utime(old, (past, past))
    recovered = recover_temp_files(str(hour) + "/")
    assert [os.path.dirname(p) for p in recovered] == [str(hour)]
    assert parse_segment_path(recovered[0]).type == "partial"


def test_recover_temp_files_when_another_process_recovers_it_first(tmp_path, monkeypatch):
    import common.segment_files as segment_files
    hour = tmp_path / "s" / "v" / "2026-11-27T13"
    hour.mkdir(parents=True)
    temp = hour / "45:51.608000-2.000-temp-abc.ts"
    temp.write_bytes(b"captured")
    past = time.time() - 600
    os.utime(temp, (past, past))
    real_hash_file = segment_files.hash_file

    def raced(path):  # the other process renames it between our listing and our hashing
        os.replace(path, str(hour / "other-process-got-it"))
        return real_hash_file(path)

    monkeypatch.setattr(segment_files, "hash_file", raced)
    assert recover_temp_files(str(hour)) == []
