"""Recognising advertisement segments (pure logic).

Twitch stitches ads into the stream and marks them with EXT-X-DATERANGE tags (CLASS
"twitch-stitched-ad", ID "stitched-ad-...", X-TV-TWITCH-AD-* attributes) and with EXTINF titles
naming Amazon. Ads are never archived: they are not the broadcast.
"""

from datetime import timedelta

from .times import parse_pdt

AD_CLASS = "twitch-stitched-ad"
AD_ID_PREFIX = "stitched-ad-"
AD_ATTR_PREFIX = "x_tv_twitch_ad"  # m3u8 lower-cases X-TV-TWITCH-AD-* and uses underscores


def is_ad_daterange(daterange):
    if (daterange.class_ or "") == AD_CLASS:
        return True
    if (daterange.id or "").startswith(AD_ID_PREFIX):
        return True
    return any(attr.startswith(AD_ATTR_PREFIX) for attr, _ in daterange.x_client_attrs)


def is_ad_title(title):
    return "amazon" in (title or "").lower()


def ad_interval(daterange):
    """(start, end) of an ad date range, end None when open-ended; None if undated."""
    if not daterange.start_date:
        return None
    try:
        start = parse_pdt(daterange.start_date)
    except ValueError:
        return None
    end = None
    if daterange.end_date:
        try:
            end = parse_pdt(daterange.end_date)
        except ValueError:
            end = None
    elif daterange.duration is not None:
        end = start + timedelta(seconds=float(daterange.duration))
    elif daterange.planned_duration is not None:
        end = start + timedelta(seconds=float(daterange.planned_duration))
    return start, end


def in_intervals(start, intervals):
    """Whether a segment starting at `start` lies in any (start, end) ad interval.

    Open-ended intervals (no END-DATE or DURATION) only cover the segment they are attached to,
    which the caller checks separately, so they are skipped here."""
    if start is None:
        return False
    return any(s <= start < e for s, e in intervals if e is not None)
