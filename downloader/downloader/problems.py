"""Segments that cannot be recorded: counted every time, logged at most once a minute; and keys
or init sections that fail to fetch and are retried: logged at most once a minute too.

An encrypted variant we cannot decrypt, or a key server that keeps refusing us (or is down),
would otherwise log a line per segment (per retry) for as long as it lasts and drown everything
else.
"""

import logging
import time

from . import metrics

log = logging.getLogger(__name__)

# The reasons, a fixed set (they are metric label values).
UNSUPPORTED_METHOD = "unsupported_method"    # SAMPLE-AES, SAMPLE-AES-CTR, anything not AES-128
UNSUPPORTED_KEYFORMAT = "unsupported_keyformat"  # a DRM key system, not "identity"
KEY_UNAVAILABLE = "key_unavailable"          # the key URI answers 403/404 (or has no URI)
KEY_INVALID = "key_invalid"                  # the key is not 16 bytes, or does not decrypt
MALFORMED = "malformed_entry"                # a byte range or IV we cannot make sense of
REASONS = (UNSUPPORTED_METHOD, UNSUPPORTED_KEYFORMAT, KEY_UNAVAILABLE, KEY_INVALID, MALFORMED)
RETRYING = "retrying"  # not a reason (those segments may yet be recorded): a key of the log

LOG_INTERVAL = 60


class Complaints:
    """One per stream manager; the keys are (variant, reason or RETRYING): a bounded set."""

    def __init__(self, stream, interval=LOG_INTERVAL, clock=time.monotonic):
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.last_logged = {}  # (variant, reason or RETRYING) -> clock time
        self.suppressed = {}   # (variant, reason or RETRYING) -> occurrences not logged since

    def report(self, variant, reason, message):
        """Count one segment not recorded; log `message` unless this was logged recently."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        metrics.unrecordable.labels(self.stream, variant, reason).inc()
        due, more = self._due((variant, reason))
        if due:
            log.error("%s %s: not recording: %s%s", self.stream, variant, message,
                      f" ({more} more since the last report)" if more else "")
        return due

    def retrying(self, variant, message):
        """An init section or key failed to fetch and is retried (counted by the caller as a
        segment error): every segment of the variant meets it while its server is down, so it
        is logged at most once a minute. Returns whether it was logged."""
        due, more = self._due((variant, RETRYING))
        if due:
            log.warning("%s %s: %s; retrying%s", self.stream, variant, message,
                        f" ({more} more failures since the last report)" if more else "")
        return due

    def _due(self, key):
        """(whether to log now, occurrences not logged since the last line)."""
        now = self.clock()
        last = self.last_logged.get(key)
        if last is not None and now - last < self.interval:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return False, 0
        self.last_logged[key] = now
        return True, self.suppressed.pop(key, 0)
