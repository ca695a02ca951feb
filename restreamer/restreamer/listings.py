"""The `/files/STREAM/VARIANT/HOUR` listing (peers' backfillers poll it for every hour they
hold), kept per hour directory as its JSON text until the directory changes."""

import json
import os
import time
from collections import OrderedDict

from common.segments import is_final_segment_name, read_hour

# A directory changed this recently may change again within its mtime's granularity.
SETTLE_SECONDS = 2.0


class HourListings:
    """Bounded LRU of hour directories' listings, keyed on (mtime_ns, inode)."""

    def __init__(self, max_entries=256):
        self.max_entries = max_entries
        self._entries = OrderedDict()  # hour_path -> (key, JSON text)

    def json(self, hour_path):
        """JSON list of the servable segment names in hour_path, sorted; '[]' if missing."""
        try:
            st = os.stat(hour_path)
        except OSError:  # missing, name too long...
            return "[]"
        key = (st.st_mtime_ns, st.st_ino)
        cached = self._entries.get(hour_path)
        if cached is not None and cached[0] == key:
            self._entries.move_to_end(hour_path)
            return cached[1]
        try:
            names = read_hour(hour_path) or []
        except OSError:  # unreadable: listed as empty, as a missing one
            return "[]"
        text = json.dumps(sorted(name for name in names
                                 if not name.startswith(".") and is_final_segment_name(name)))
        if time.time() - st.st_mtime_ns / 1e9 > SETTLE_SECONDS:
            self._entries[hour_path] = (key, text)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return text

