"""A full disk, told once a minute: a daemon keeps what it has stored, retries, and carries on
once space returns. One line per failed write would bury everything else in the log."""

import errno
import logging
import time
from collections.abc import Callable

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
LOG_INTERVAL = 60


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


class DiskFullLog:
    """Logs the first write that meets a full disk, then at most once per `interval` with the
    number of writes that failed since, and once when a write succeeds again."""

    def __init__(self, log: logging.Logger, interval: float = LOG_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.interval, self.clock = log, interval, clock
        self.logged_at = None   # when the last line was logged (None: the disk is not full)
        self.failed_since = 0   # writes failed since that line

    @property
    def full(self) -> bool:
        return self.logged_at is not None

    def failed(self, where: str, error: OSError) -> None:
        now = self.clock()
        self.failed_since += 1
        if self.logged_at is not None and now - self.logged_at < self.interval:
            return
        again = f" ({self.failed_since} writes failed in the last minute)" \
            if self.logged_at is not None else ""
        self.log.error("disk full: cannot write %s: %s%s; keeping what is stored and retrying "
                       "until space returns (free some space under it)", where,
                       error.strerror or error, again)
        self.logged_at, self.failed_since = now, 0

    def succeeded(self, where: str) -> None:
        if self.logged_at is not None:
            self.log.warning("disk space is back: writing %s again", where)
            self.logged_at, self.failed_since = None, 0
