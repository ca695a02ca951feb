"""How far a long backfill pass has got (pure: counts in, one log line out).

A pass first lists what it will fetch (so the total is known), then fetches. A pass that runs
longer than LOG_INTERVAL logs one line per LOG_INTERVAL: segments and bytes fetched and left,
the rate, and when it should end. Bytes left are estimated from the segments fetched so far
(listings give names, not sizes).
"""

from datetime import timedelta

from common.dateutil import format_duration

LOG_INTERVAL = 30.0


class CatchUp:
    def __init__(self, peer, now, interval=LOG_INTERVAL):
        self.peer, self.started, self.interval = peer, now, interval
        self.last_log = now  # the first line comes one interval into the pass
        self.wanted = 0  # segments this pass means to fetch
        self.fetched = 0
        self.bytes = 0
        self.settled = 0  # not fetched after all: failed, or arrived meanwhile

    def want(self, count):
        self.wanted += count

    def got(self, size):
        self.fetched += 1
        self.bytes += size

    def dropped(self):
        self.settled += 1

    @property
    def left(self):
        return max(0, self.wanted - self.fetched - self.settled)

    def due(self, now):
        """True (and the clock restarts) if a progress line is due."""
        if self.left and now - self.last_log >= self.interval:
            self.last_log = now
            return True
        return False

    def line(self, now):
        elapsed = max(now - self.started, 1e-9)
        rate, byte_rate = self.fetched / elapsed, self.bytes / elapsed
        text = (f"catching up from {self.peer}: fetched {self.fetched:,} of {self.wanted:,} "
                f"segments ({_size(self.bytes)}), {self.left:,} left")
        if self.fetched:
            text += f" (about {_size(self.left * self.bytes / self.fetched)})"
        text += f"; {rate:.1f} segments/s ({_size(byte_rate)}/s)"
        if rate > 0:
            text += f", about {format_duration(timedelta(seconds=round(self.left / rate)))} to go"
        return text


def _size(n):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
