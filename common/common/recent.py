"""A set that remembers only its newest keys: for daemons that note what they have done
already (an hour recovered, a segment settled) and run for months. Forgetting an old key only
costs doing that thing once more."""

from collections import OrderedDict
from collections.abc import Hashable


class RecentSet:
    """Membership of the last `size` keys added (adding a key again makes it the newest)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._keys: OrderedDict = OrderedDict()

    def add(self, key: Hashable) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)
