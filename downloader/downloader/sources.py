"""Where a stream's variants come from: any HLS URL, or a Twitch channel."""

from . import twitch
from .playlist import parse_media_playlist
from .twitch import Offline
from .variants import Master, Variant, parse_master

__all__ = ["HLSSource", "TwitchSource", "Offline"]


class HLSSource:
    """A master playlist URL (every variant) or a single media playlist URL (one variant)."""

    def __init__(self, session, url, single_variant="source", timeout=10):
        self.session = session
        self.url = url
        self.single_variant = single_variant
        self.timeout = timeout
        self.skew_limit = None   # generic origins: skew is logged, not acted on
        self.master_max_age = 20 * 3600

    def describe(self):
        return self.url

    def get_master(self):
        """The stream's variants and renditions (a variants.Master)."""
        resp = self.session.get(self.url, timeout=self.timeout)
        if resp.status_code == 404:
            raise Offline("master playlist not found (404)")
        resp.raise_for_status()
        return master_from_playlist(resp.text, resp.url, self.single_variant)


class TwitchSource:
    def __init__(self, session, channel, gql_url=twitch.GQL_URL, usher_url=twitch.USHER_URL,
            oauth=None, timeout=10):
        self.session = session
        self.channel = channel
        self.gql_url = gql_url
        self.usher_url = usher_url
        self.oauth = oauth
        self.timeout = timeout
        self.skew_limit = twitch.TWITCH_SKEW_LIMIT
        self.master_max_age = twitch.MASTER_MAX_AGE

    def describe(self):
        return f"twitch channel {self.channel}"

    def get_master(self):
        text, url = twitch.get_master_playlist(self.session, self.channel, self.gql_url,
            self.usher_url, self.oauth, self.timeout)
        return parse_master(text, url)


def master_from_playlist(text, url, single_variant):
    """The Master a master playlist describes, or the one variant a media playlist is."""
    if "#EXT-X-STREAM-INF" in text:
        return parse_master(text, url)
    parse_media_playlist(text, url)  # raises ValueError if it is not a playlist at all
    return Master([Variant(single_variant, url, 0)], 0)


def variants_from_playlist(text, url, single_variant):
    """Variants of a master playlist, or the one variant a media playlist is."""
    return master_from_playlist(text, url, single_variant).variants
