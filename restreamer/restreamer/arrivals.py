"""When segment files appeared, for the live playlists' on-time rule (see live.py)."""

import os
from datetime import datetime

from common.segments import choose_best_per_start, parse_segment_path

from . import live


class ArrivalCache:
    """When segment files appeared (their mtime) and whether that was on time for live
    playlists; the latter is remembered, since a final file never changes."""

    MAX_ENTRIES = 200_000

    def __init__(self):
        self.on_time = {}  # path -> arrived on time (see live.listable), filled by it

    def trim(self):
        """Bound memory: forget everything once too much is remembered (cheap to relearn)."""
        if len(self.on_time) > self.MAX_ENTRIES:
            self.on_time.clear()

    def arrival(self, segment):
        try:
            return datetime.utcfromtimestamp(os.stat(segment.path).st_mtime)
        except OSError:
            return None

    def on_time_alternative(self, late):
        """Best other segment with the same start that arrived on time, or None."""
        hour_path, name = os.path.split(late.path)
        try:
            names = [n for n in os.listdir(hour_path) if n[:12] == name[:12] and n != name]
        except OSError:
            return None
        candidates = []
        for other in names:
            try:
                segment = parse_segment_path(os.path.join(hour_path, other))
            except ValueError:
                continue
            arrived = self.arrival(segment)
            if segment.start == late.start and arrived is not None \
                    and arrived <= segment.end + live.SETTLE:
                candidates.append(segment)
        best = choose_best_per_start(candidates)
        return best[0] if best else None
