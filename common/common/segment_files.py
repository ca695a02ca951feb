"""Writing segment files: temp -> hash while writing -> fsync -> rename to the final name.

A reader never sees a half-written final file, and two nodes that got the same bytes give the
same name. Temp files left by a process that died are recovered as partials at start-up.
"""

import base64
import hashlib
import logging
import os
import time
from datetime import datetime, timedelta

from .fs import ensure_directory, fsync_directory
from .segments import (format_hour_path, format_segment_path, hash_name, is_temp,
                       parse_segment_path, read_hour, segment_file_name)

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class HashMismatch(Exception):
    """The bytes written do not hash to what the segment's name promised."""


def _temp_id():
    return base64.urlsafe_b64encode(os.urandom(9)).decode()


class SegmentWriter:
    """Stream one segment into the archive.

        with SegmentWriter(base, stream, variant, start, duration) as w:
            for chunk in body:
                w.write(chunk)
            path = w.finish("full")

    Leaving the block without finish() (an exception) deletes the temp file; callers that want
    to keep received bytes as a partial call finish("partial") in their error handling.
    """

    def __init__(self, base_dir: str, stream: str, variant: str, start: datetime,
                 duration: timedelta) -> None:
        self.base_dir, self.stream, self.variant = base_dir, stream, variant
        self.start, self.duration = start, duration
        self.temp_path = format_segment_path(base_dir, stream, variant, start, duration,
                                             "temp", _temp_id())
        ensure_directory(os.path.dirname(self.temp_path))
        self._file = open(self.temp_path, "xb")
        self._sha = hashlib.sha256()
        self.bytes_written = 0
        self.hash = None
        self.path = None
        self._failed = None

    def __enter__(self) -> "SegmentWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path is None:
            self.abort()

    def write(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as e:
            # Some of the chunk may be in the file, some not (a full disk): what is there no
            # longer matches any hash we could name it by, so it can never be finished.
            self._failed = e
            raise
        self._sha.update(chunk)
        self.bytes_written += len(chunk)

    def content_hash(self) -> str:
        """The HASH of the bytes written so far."""
        return hash_name(self._sha.digest())

    def finish(self, type: str, expected_hash: str | None = None,
               start: datetime | None = None) -> str:
        """Make the file final; returns its path. An empty file is always 'suspect'.
        `start`: name it by this start instead of the one given at creation (a writer that
        learnt the segment's place on the timeline from its bytes)."""
        if type not in ("full", "partial", "suspect"):
            raise ValueError(f"cannot finish a segment as {type!r}")
        if self._failed is not None:
            raise OSError(self._failed.errno, f"{self.temp_path}: a write failed earlier "
                          f"({self._failed.strerror or self._failed}): nothing to keep")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self.hash = self.content_hash()
        if expected_hash is not None and expected_hash != self.hash:
            self.abort()
            raise HashMismatch(f"{self.temp_path}: content hashes to {self.hash}, "
                               f"expected {expected_hash}")
        if self.bytes_written == 0:
            type = "suspect"
        if start is not None and start != self.start:
            self.start = start
            ensure_directory(format_hour_path(self.base_dir, self.stream, self.variant, start))
        final = format_segment_path(self.base_dir, self.stream, self.variant, self.start,
                                    self.duration, type, self.hash)
        if os.path.exists(final):
            # Same name means same bytes: the copy there stays as it is. Replacing it would move
            # its mtime, which the restreamer reads as when the segment arrived (a segment that
            # arrived on time for live playlists would turn late, and drop out of them).
            self.abort()
        else:
            os.replace(self.temp_path, final)
            fsync_directory(os.path.dirname(final))
        self.path = final
        return final

    def abort(self) -> None:
        try:
            if not self._file.closed:
                self._file.close()
        except OSError:
            pass  # its buffer could not be written (a full disk): the file goes anyway
        try:
            os.remove(self.temp_path)
        except FileNotFoundError:
            pass


def hash_file(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            sha.update(chunk)
    return hash_name(sha.digest())


def recover_temp_files(hour_path: str, min_age: timedelta = timedelta(minutes=5)) -> list[str]:
    """Turn temp files older than min_age (their writer died) into partials; delete empty ones.
    Returns the new paths. Younger temp files may still be being written and are left alone."""
    recovered = []
    names = read_hour(hour_path)
    if names is None:
        return recovered
    cutoff = time.time() - min_age.total_seconds()
    for name in names:
        if not is_temp(name):  # most hours have none: no parse or stat for the other names
            continue
        path = os.path.join(hour_path, name)
        try:
            segment = parse_segment_path(path)
            st = os.stat(path)
        except (ValueError, FileNotFoundError):
            continue
        if segment.type != "temp" or st.st_mtime > cutoff:
            continue
        if st.st_size == 0:
            os.remove(path)
            log.info("removed empty leftover temp file %s", path)
            continue
        try:
            # Next to the temp file (whatever form hour_path was given in, e.g. a trailing '/').
            final = os.path.join(os.path.dirname(path), segment_file_name(
                segment.start, segment.duration, "partial", hash_file(path)))
            os.replace(path, final)
        except FileNotFoundError:
            continue  # another process (downloader and backfiller both recover) got it first
        log.warning("recovered leftover temp file %s as %s", path, os.path.basename(final))
        recovered.append(final)
    if recovered:
        fsync_directory(hour_path)
    return recovered
