"""Failed sign-ins per client address: after `limit` failures within `window` seconds, further
attempts wait (429 + Retry-After). Pure logic with the clock passed in.

Memory is bounded: at most `max_addresses` addresses are remembered (the least recently failing
are forgotten first), each with at most `limit` failure times, and an address whose failures
are all older than the window is dropped.
"""

from collections import OrderedDict, deque


class SignInThrottle:
    def __init__(self, limit=5, window=60.0, max_addresses=10000):
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self._failures = OrderedDict()  # address -> deque of times, least recent first

    def retry_after(self, address, now):
        """Seconds this address must wait before its next attempt (0: it may try now)."""
        self._expire(now)
        times = self._failures.get(address)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.window - now)

    def failed(self, address, now):
        self._expire(now)
        times = self._failures.pop(address, None) or deque(maxlen=self.limit)
        times.append(now)
        self._failures[address] = times  # now the most recent
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)

    def _expire(self, now):
        """Drop addresses whose last failure left the window (they are ordered by it)."""
        while self._failures:
            address, times = next(iter(self._failures.items()))
            if times[-1] + self.window > now:
                break
            del self._failures[address]

    def __len__(self):
        return len(self._failures)
