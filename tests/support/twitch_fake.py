"""A fake of Twitch's GQL (PlaybackAccessToken) and usher endpoints, on top of an HLSOrigin.

    fake = TwitchFake(origin)
    fake.add_channel("somechannel", origin.channel())   # live
    fake.set_offline("somechannel")                     # GQL returns a null token
    fake.gql_url, fake.usher_url                        # for --twitch-gql-url / --twitch-usher-url

Usher checks the token and signature GQL issued, like the real one, and serves a Twitch-style
master playlist (EXT-X-MEDIA names, GROUP-ID "chunked" for the source) whose variant URLs are
the origin channel's media playlists (with Twitch's PREFETCH lines added).
"""

import hashlib
import itertools
import json
import re
from urllib.parse import parse_qs

CLIENT_ID = "kimne78kx3ncx6brgo4mv6wki5h1ko"


class TwitchFake:
    def __init__(self, origin, require_auth=None):
        self.origin = origin
        self.channels = {}       # login -> Channel or None (offline)
        self.tokens = {}         # token value -> (login, signature)
        self.require_auth = require_auth  # an OAuth token that GQL insists on, if set
        self.gql_requests = []   # (login, authorization header)
        self.usher_requests = []  # (login, status)
        self._ids = itertools.count(1)
        origin.routes.append(("/gql", self.gql))
        origin.routes.append(("/api/v2/channel/hls/", self.usher))

    @property
    def gql_url(self):
        return self.origin.base_url + "/gql"

    @property
    def usher_url(self):
        return self.origin.base_url

    def add_channel(self, login, channel):
        channel.twitch_style = True
        self.channels[login.lower()] = channel

    def set_offline(self, login):
        self.channels[login.lower()] = None

    def gql(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST":
            return _json(start_response, 405, {"error": "method not allowed"})
        if environ.get("HTTP_CLIENT_ID") != CLIENT_ID:
            return _json(start_response, 400, {"error": "Bad Request", "message": "bad client id"})
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size))
            login = body["variables"]["login"].lower()
            assert body["operationName"] == "PlaybackAccessToken"
            assert body["extensions"]["persistedQuery"]["sha256Hash"]
        except (ValueError, KeyError, TypeError, AssertionError):
            return _json(start_response, 400, {"errors": [{"message": "bad request"}]})
        auth = environ.get("HTTP_AUTHORIZATION")
        self.gql_requests.append((login, auth))
        if self.require_auth and auth != f"OAuth {self.require_auth}":
            return _json(start_response, 401, {"error": "Unauthorized"})
        if self.channels.get(login) is None:
            return _json(start_response, 200, {"data": {"streamPlaybackAccessToken": None}})
        value = json.dumps({"channel": login, "expires": 9999999999, "n": next(self._ids)})
        signature = hashlib.sha1(value.encode()).hexdigest()
        self.tokens[value] = (login, signature)
        return _json(start_response, 200, {"data": {"streamPlaybackAccessToken": {
            "value": value, "signature": signature, "__typename": "PlaybackAccessToken"}}})

    def usher(self, environ, start_response):
        m = re.match(r"^/api/v2/channel/hls/([^/]+)\.m3u8$", environ["PATH_INFO"])
        login = m.group(1).lower() if m else None
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        issued = self.tokens.get(query.get("token"))
        if issued is None or issued != (login, query.get("sig")):
            self.usher_requests.append((login, 403))
            return _text(start_response, 403, '[{"error":"Unauthorized"}]')
        channel = self.channels.get(login)
        if channel is None or channel.master_missing:
            self.usher_requests.append((login, 404))
            return _text(start_response, 404, '[{"error":"Can not find channel"}]')
        self.usher_requests.append((login, 200))
        return _text(start_response, 200, self.master_playlist(channel),
            "application/vnd.apple.mpegurl")

    def master_playlist(self, channel):
        lines = ["#EXTM3U",
                 '#EXT-X-TWITCH-INFO:NODE="fake.local",MANIFEST-NODE-TYPE="weaver",'
                 'SERVING-ID="fake",CLUSTER="local",BROADCAST-ID="1"']
        for v, (w, h) in enumerate(self.origin.sizes):
            fps = self.origin.fps
            if v == 0:
                group, name = "chunked", f"{h}p{fps} (source)"
            else:
                group, name = f"{h}p{fps}", f"{h}p{fps}"
            lines.append(f'#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="{group}",NAME="{name}",'
                         'AUTOSELECT=YES,DEFAULT=YES')
            lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={60_000 + w * h * 5},RESOLUTION={w}x{h},'
                         f'CODECS="avc1.42c014,mp4a.40.2",VIDEO="{group}",FRAME-RATE={fps:.3f}')
            lines.append(channel.media_url(v))
        return "\n".join(lines) + "\n"


def _json(start_response, status, data):
    return _text(start_response, status, json.dumps(data), "application/json")


def _text(start_response, status, text, content_type="text/plain"):
    body = text.encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
              404: "Not Found", 405: "Method Not Allowed"}[status]
    start_response(f"{status} {reason}", [("Content-Type", content_type),
        ("Content-Length", str(len(body)))])
    return [body]
