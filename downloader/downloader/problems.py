"""Segments that cannot be recorded: counted every time, logged at most once a minute.

An encrypted variant we cannot decrypt, or a key server that keeps refusing us, would otherwise
log a line per segment for as long as the stream lasts and drown everything else.
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

LOG_INTERVAL = 60


class Complaints:
    """One per stream manager; the keys are (variant, reason): a bounded set."""

    def __init__(self, stream, interval=LOG_INTERVAL, clock=time.monotonic):
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.last_logged = {}  # (variant, reason) -> clock time
        self.suppressed = {}   # (variant, reason) -> occurrences not logged since

    def report(self, variant, reason, message):
        """Count one segment not recorded; log `message` unless this was logged recently."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        metrics.unrecordable.labels(self.stream, variant, reason).inc()
        key = (variant, reason)
        now = self.clock()
        last = self.last_logged.get(key)
        if last is not None and now - last < self.interval:
            self.suppressed[key] = self.suppressed.get(key, 0) + 1
            return False
        more = self.suppressed.pop(key, 0)
        log.error("%s %s: not recording: %s%s", self.stream, variant, message,
                  f" ({more} more since the last report)" if more else "")
        self.last_logged[key] = now
        return True
