"""A full archive disk: the downloader stores nothing of what it cannot write (no partial, no
temp file, never a truncated file named full), says so once a minute rather than once per
write, and stores the segment once space returns. The full disk is injected at the writer
(ENOSPC from its writes); the origin, the HTTP transfers and the archive are real."""

import errno
import logging
import os

from common import segment_files
from common.segments import parse_segment_path
from support.waiting import wait_for


def archive_files(base):
    return [parse_segment_path(os.path.join(root, name))
            for root, _dirs, names in os.walk(base) for name in names if name.endswith(".ts")]


def test_full_disk_keeps_nothing_logs_once_and_recovers(hls_origin, channel, run_downloader,
                                                        tmp_path, monkeypatch, caplog):
    base = str(tmp_path / "archive")
    full = {"on": True, "failed": 0}
    real_write = segment_files.SegmentWriter.write

    def write(self, chunk):
        if full["on"]:
            full["failed"] += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(self, chunk)

    monkeypatch.setattr(segment_files.SegmentWriter, "write", write)
    caplog.set_level(logging.INFO, logger="downloader")
    run_downloader(channel.master_url, base_dir=base, qualities=["source"],
                   first_retry_delay=0.05)
    wait_for(lambda: full["failed"] >= 8, 30, "8 failed writes")
    assert archive_files(base) == []
    lines = [r for r in caplog.records if "disk full" in r.getMessage()]
    assert len(lines) == 1 and "No space left on device" in lines[0].getMessage()

    full["on"] = False
    wait_for(lambda: [s for s in archive_files(base) if s.type == "full"], 20,
             "a full segment once space returned")
    # Nothing of the full disk's time is kept: no partial, no temp. (A `suspect` is possible
    # on a loaded machine: a worker that stops trusting a late playlist stores its segments so.)
    files = archive_files(base)
    assert all(s.type in ("full", "suspect") for s in files), \
        [os.path.basename(s.path) for s in files]
    assert all(segment_files.hash_file(s.path) == s.hash for s in files)
    assert any("disk space is back" in r.getMessage() for r in caplog.records)
