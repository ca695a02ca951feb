"""What a media playlist lists: fixed ranges (get_best_segments), and the playlists that follow
the live rules (live.py): live playlists (no `end`) and ranges reaching into the unsettled
present. The route in app.py calls this and formats the text (playlists.py); tests import it.

Per variant, an hour's listing is listed() of its on-time chain (hour_facts.HourFacts); the
numbering walks hour summaries (memoised Tallies, then summaries from memory or sidecars), so a
reload reads only the open hour(s) and a restart reads one small file per closed hour.
"""

from common.segments import get_best_segments

from . import live
from .hour_facts import HourFacts
from .numbering import HourList, TallyMemo


class MediaPlaylists:
    """Per process: the live numbering's memory (hour facts, memoised Tallies, hour lists)."""

    def __init__(self, base_dir, sidecars=True):
        self.facts = HourFacts(base_dir, sidecars=sidecars)
        self.tallies = TallyMemo()
        self.hour_list = HourList(on_change=self.facts.forget_pruned)

    def live(self, hours_path, start, now):
        """-> (entries, media_sequence, discontinuity_sequence) of the live playlist of
        BASE/STREAM/VARIANT numbered from `start`, or from the fixed live.ORIGIN."""
        origin = start or live.ORIGIN
        horizon = now - live.SETTLE
        if horizon <= origin:
            return [], 0, 0
        first_hour = _hour_of(origin)
        hours = self.hour_list.hours(hours_path, first_hour, horizon)
        with self.tallies.lock(hours_path, origin):
            return live.live_window(
                hours, horizon, lambda hour: self.listing(hours_path, hour, origin, horizon),
                self.tallies.view(hours_path, origin),
                summary=lambda hour: self.summary(hours_path, hour, origin, horizon))

    def fixed(self, hours_path, start, end, now):
        """-> (entries, finished) for [start, end). A range whose end has settled is finished
        (VOD with ENDLIST, holes or not: they are discontinuities). One reaching into the last
        few seconds lists what has settled by the live rules, so it only grows, and stays
        open."""
        if end > now - live.SETTLE:
            return self.settling(hours_path, start, now), False
        return get_best_segments(hours_path, start, end), True

    def settling(self, hours_path, start, now):
        """Entries (None at discontinuities) of [start, now - SETTLE) by the live rules: a
        range that reaches into the present, so that it only grows as it is reloaded."""
        horizon = now - live.SETTLE
        if horizon <= start:
            return []
        listed, tally = [], live.Tally()
        for hour in self.hour_list.hours(hours_path, _hour_of(start), horizon):
            part = self.listing(hours_path, hour, start, horizon)
            listed.extend(live.join(part, tally))
            tally = live.advance(tally, live.summarize(part))
        entries, _, _ = live.window(listed, size=len(listed))
        return entries

    def listing(self, hours_path, hour, origin, horizon):
        """[(segment, break_before)] that the live rules list of the segments starting in
        `hour`, from the first one ending after `origin`."""
        chain = self.facts.chain(hours_path, hour, live.closed(hour, horizon))
        return live.listed(chain, horizon, origin if origin > hour else None)

    def summary(self, hours_path, hour, origin, horizon):
        """HourSummary of a closed hour's listing (the origin's hour, cut by it, is counted)."""
        if origin > hour:
            return live.summarize(self.listing(hours_path, hour, origin, horizon))
        return self.facts.summary(hours_path, hour)


def _hour_of(time):
    return time.replace(minute=0, second=0, microsecond=0)

