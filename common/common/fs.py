"""Filesystem helpers: atomic writes that survive a crash, directories, jitter."""

import os
import random
import uuid


def ensure_directory(path: str) -> None:
    """Create path and its parents if missing (safe when several processes race)."""
    os.makedirs(path, exist_ok=True)


def fsync_directory(path: str) -> None:
    """Make a rename or create in path durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes | str, mode: int | None = None,
                 modified: float | None = None) -> None:
    """Write bytes or str to path so that readers see the old file or the whole new one.
    `mode` (e.g. 0o600 for a secret): the file's permissions from the start, whatever the
    umask; by default those of a new file. `modified`: the file's mtime (a copy keeping its
    source's time), set before the rename so no reader sees another."""
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.dirname(path) or "."
    ensure_directory(directory)
    temp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if modified is not None:
                os.utime(f.fileno(), (modified, modified))
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.remove(temp)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(directory)


def jitter(seconds: float, fraction: float = 0.1) -> float:
    """seconds +/- fraction, so that many workers on one schedule do not move in lockstep."""
    return seconds * random.uniform(1 - fraction, 1 + fraction)
