"""Twitch: a playback access token from GQL, then the master playlist from usher."""

import json
import logging
import random
from urllib.parse import quote

from .times import TWITCH_SKEW_LIMIT  # noqa: F401  (Twitch's limit lives with its timing logic)

GQL_URL = "https://gql.twitch.tv/gql"
USHER_URL = "https://usher.ttvnw.net"
# The web player's public Client-ID; every anonymous viewer uses it.
CLIENT_ID = "kimne78kx3ncx6brgo4mv6wki5h1ko"
# The web player's persisted PlaybackAccessToken query.
PLAYBACK_TOKEN_HASH = "ed230aa1e33e07eebb8928504583da78a5173989fadfb1ac94be06a04f3cdbe9"
# Twitch media playlist URLs expire after about a day: refresh the master well before.
MASTER_MAX_AGE = 20 * 3600

log = logging.getLogger(__name__)


class Offline(Exception):
    """The channel is not live (or does not exist); poll again later."""


def read_auth_file(path):
    """The OAuth token in a file (first non-empty line, an optional `OAuth ` prefix dropped)."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                return line[len("oauth "):].strip() if line.lower().startswith("oauth ") else line
    raise ValueError(f"{path}: no token in file")


def token_request(channel):
    return {
        "operationName": "PlaybackAccessToken",
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": PLAYBACK_TOKEN_HASH}},
        "variables": {
            "isLive": True, "login": channel, "isVod": False, "vodID": "",
            "playerType": "site", "platform": "web",
        },
    }


def parse_token_response(data):
    """(token, signature) from a GQL response; Offline if there is none; ValueError if garbled."""
    if isinstance(data, list):  # batched form
        data = data[0] if data else {}
    if not isinstance(data, dict):
        raise ValueError("GQL response is not a JSON object")
    if data.get("errors") and not data.get("data"):
        raise ValueError(f"GQL errors: {json.dumps(data['errors'])[:200]}")
    token = (data.get("data") or {}).get("streamPlaybackAccessToken")
    if not token or not token.get("value") or not token.get("signature"):
        raise Offline("no playback access token (channel offline or unknown)")
    return token["value"], token["signature"]


def usher_url(base, channel):
    return f"{base.rstrip('/')}/api/v2/channel/hls/{quote(channel.lower())}.m3u8"


def usher_params(token, signature):
    return {
        "token": token, "sig": signature,
        "allow_source": "true", "allow_audio_only": "true",
        "fast_bread": "true", "playlist_include_framerate": "true",
        "player_backend": "mediaplayer", "reassignments_supported": "true",
        "p": str(random.randrange(1_000_000, 10_000_000)),
    }


def get_master_playlist(session, channel, gql_url=GQL_URL, usher_base=USHER_URL, oauth=None,
        timeout=10):
    """Return (master playlist text, its URL). Raises Offline, or requests/ValueError errors."""
    headers = {"Client-ID": CLIENT_ID}
    if oauth:
        headers["Authorization"] = f"OAuth {oauth}"
    resp = session.post(gql_url, json=token_request(channel), headers=headers, timeout=timeout)
    resp.raise_for_status()
    try:
        data = resp.json()
    except ValueError:
        raise ValueError("GQL response is not JSON")
    token, signature = parse_token_response(data)
    resp = session.get(usher_url(usher_base, channel), params=usher_params(token, signature),
        timeout=timeout)
    if resp.status_code == 404:
        raise Offline("usher says the channel is not live (404)")
    resp.raise_for_status()
    return resp.text, resp.url
