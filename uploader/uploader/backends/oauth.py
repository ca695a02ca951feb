"""OAuth 2 for the youtube backend.

Access tokens from a refresh token, refreshed before they expire (RefreshingToken): a failed
refresh (network error, 5xx) is retried a few times; if it still fails while the old token has
not expired yet, the old token is used. Only when no usable token exists does get() raise
TokenError, and callers treat that as "nothing was uploaded, try again later".

Getting the refresh token in the first place (`python -m uploader youtube-login`): the
installed-application flows at the end of this module.
"""

import base64
import hashlib
import http.server
import json
import logging
import secrets
import time
import urllib.parse

import gevent
import requests

from common.fs import atomic_write

log = logging.getLogger(__name__)

# Refresh this long before the token expires, so a long request never starts with a dying token.
REFRESH_MARGIN = 120


class TokenError(Exception):
    pass


def load_credentials(path):
    """Read {client_id, client_secret, refresh_token} from a JSON file; ValueError if bad."""
    try:
        with open(path) as f:
            creds = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read credentials file {path}: {e}")
    if not isinstance(creds, dict):
        raise ValueError(f"credentials file {path} must hold a JSON object")
    missing = [k for k in ("client_id", "client_secret", "refresh_token")
               if not isinstance(creds.get(k), str) or not creds.get(k)]
    if missing:
        raise ValueError(f"credentials file {path} lacks {', '.join(missing)}")
    return creds


class RefreshingToken:
    def __init__(self, session, token_url, client_id, client_secret, refresh_token,
                 attempts=3, backoff=1.0, timeout=30):
        self.session, self.token_url = session, token_url
        self.client_id, self.client_secret = client_id, client_secret
        self.refresh_token = refresh_token
        self.attempts, self.backoff, self.timeout = attempts, backoff, timeout
        self.access_token = None
        self.expires_at = 0.0

    def get(self):
        now = time.monotonic()
        if self.access_token and now < self.expires_at - REFRESH_MARGIN:
            return self.access_token
        try:
            self._refresh()
        except TokenError:
            if self.access_token and time.monotonic() < self.expires_at:
                log.warning("token refresh failed; using the current token until it expires")
                return self.access_token
            raise
        return self.access_token

    def invalidate(self):
        self.expires_at = 0.0

    def _refresh(self):
        error = None
        for attempt in range(self.attempts):
            if attempt:
                gevent.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self.session.post(self.token_url, timeout=self.timeout, data={
                    "client_id": self.client_id, "client_secret": self.client_secret,
                    "refresh_token": self.refresh_token, "grant_type": "refresh_token",
                })
            except requests.RequestException as e:
                error = f"token request failed: {e}"
                continue
            if resp.status_code >= 500:
                error = f"token endpoint answered {resp.status_code}"
                continue
            if resp.status_code != 200:
                # Revoked or wrong credentials: retrying now cannot help.
                raise TokenError(f"token endpoint refused the refresh token: {resp.status_code} "
                                 f"{resp.text[:200]}")
            try:
                body = resp.json()
                token, expires_in = body["access_token"], float(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError):
                error = "token endpoint sent an unreadable answer"
                continue
            self.access_token = token
            self.expires_at = time.monotonic() + expires_in
            return
        raise TokenError(error)


# --- Getting the refresh token: Google's OAuth 2.0 for installed applications ----------------
# (`python -m uploader youtube-login`, see uploader/README.md). Two flows:
# - loopback: the browser is sent to Google's consent page and back to a one-shot HTTP server
#   on 127.0.0.1, with an authorization code the token endpoint exchanges (with PKCE, S256).
#   Needs an OAuth client of type "Desktop app".
# - device: Google gives a short user code to enter at its verification URL on any device with
#   a browser, while we poll the token endpoint. Needs a "TVs and Limited Input devices" client.

GOOGLE_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_DEVICE_URL = "https://oauth2.googleapis.com/device/code"

YOUTUBE_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
YOUTUBE_READONLY = "https://www.googleapis.com/auth/youtube.readonly"
YOUTUBE = "https://www.googleapis.com/auth/youtube"
# What the youtube backend needs: uploads (videos.insert), and reading the channel's own videos
# (videos.list for the transcode status) and the channel (youtube-login's check).
LOOPBACK_SCOPES = (YOUTUBE_UPLOAD, YOUTUBE_READONLY)
# The device flow allows only a short list of scopes; YouTube's are `youtube` and
# `youtube.readonly`, so it asks for `youtube` (manage the account), which covers uploads.
DEVICE_SCOPES = (YOUTUBE,)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class LoginError(Exception):
    """The login cannot complete; the message says why and what to do."""


def read_client_secrets(path):
    """(client_id, client_secret) from the JSON file Google's console downloads for an OAuth
    client of an installed application ({"installed": {...}})."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise LoginError(f"cannot read client secrets {path}: {e}")
    client = data.get("installed") if isinstance(data, dict) else None
    if not isinstance(client, dict):
        kinds = ", ".join(sorted(data)) if isinstance(data, dict) else type(data).__name__
        raise LoginError(f"{path} is not the client secrets of an installed application (it "
                         f"has {kinds or 'nothing'}, not 'installed'): in Google's console create "
                         "an OAuth client of type 'Desktop app' (or 'TVs and Limited Input "
                         "devices' for --device) and download its JSON")
    missing = [k for k in ("client_id", "client_secret")
               if not isinstance(client.get(k), str) or not client[k]]
    if missing:
        raise LoginError(f"{path} lacks {', '.join(missing)}")
    return client["client_id"], client["client_secret"]


def pkce_pair():
    """(code_verifier, code_challenge) for PKCE's S256 method (RFC 7636)."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(auth_url, client_id, redirect_uri, scopes, state, challenge):
    # access_type=offline and prompt=consent: a refresh token every time, even for an account
    # that granted access before.
    return auth_url + "?" + urllib.parse.urlencode({
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
        "scope": " ".join(scopes), "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent",
    })


class LoopbackRedirect:
    """A one-shot HTTP server on 127.0.0.1 receiving the browser's redirect from the consent
    page. Other requests (a browser's favicon) are answered 404 and ignored."""

    def __init__(self, port=0):
        result = self.result = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                if "code" not in query and "error" not in query:
                    self._answer(404, "Not the authorization redirect.")
                    return
                result.update({k: v[0] for k, v in query.items()})
                self._answer(200, "Done: you can close this window and return to the terminal.")

            def _answer(self, status, text):
                body = f"<!doctype html><title>youtube-login</title><p>{text}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        try:
            self.server = http.server.HTTPServer(("127.0.0.1", port), Handler)
        except OSError as e:
            raise LoginError(f"cannot listen on 127.0.0.1:{port} for the redirect: {e.strerror}")
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/"

    def wait(self, state, timeout):
        """The authorization code, once the browser comes back with it."""
        deadline = time.monotonic() + timeout
        self.server.timeout = 0.5
        while not self.result:
            if time.monotonic() > deadline:
                raise LoginError(f"no answer from the browser within {timeout:.0f} s; "
                                 "run the command again")
            self.server.handle_request()
        if self.result.get("state") != state:
            raise LoginError("the redirect carried a different state than the request: "
                             "ignored (run the command again)")
        if "error" in self.result:
            raise LoginError(f"authorization refused: {self.result['error']}")
        return self.result["code"]

    def close(self):
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _token_request(session, token_url, data, timeout=30):
    """POST to the token endpoint: (status, JSON body), LoginError if unreachable/unreadable."""
    try:
        resp = session.post(token_url, data=data, timeout=timeout)
    except requests.RequestException as e:
        raise LoginError(f"cannot reach the token endpoint {token_url}: {e}")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return resp.status_code, body


def _tokens(status, body):
    if status != 200:
        reason = body.get("error_description") or body.get("error") or f"HTTP {status}"
        raise LoginError(f"the token endpoint refused: {reason}")
    if not body.get("refresh_token") or not body.get("access_token"):
        raise LoginError("the token endpoint sent no refresh token; remove the app's access "
                         "from the Google account (Security, third-party access) and try again")
    return body


def exchange_code(session, token_url, client_id, client_secret, code, verifier, redirect_uri):
    """Tokens ({access_token, refresh_token, scope...}) for a loopback flow's code."""
    return _tokens(*_token_request(session, token_url, {
        "client_id": client_id, "client_secret": client_secret, "code": code,
        "code_verifier": verifier, "redirect_uri": redirect_uri,
        "grant_type": "authorization_code"}))


def request_device_code(session, device_url, client_id, scopes):
    """{device_code, user_code, verification_url, expires_in, interval} to start a device flow."""
    status, body = _token_request(session, device_url,
                                  {"client_id": client_id, "scope": " ".join(scopes)})
    if status != 200:
        reason = body.get("error_description") or body.get("error") or f"HTTP {status}"
        if body.get("error") == "invalid_client":
            reason += " (--device needs an OAuth client of type 'TVs and Limited Input devices')"
        raise LoginError(f"the device authorization endpoint refused: {reason}")
    try:
        return dict(body, interval=float(body.get("interval", 5)),
                    expires_in=float(body["expires_in"]), device_code=body["device_code"],
                    user_code=body["user_code"],
                    verification_url=body.get("verification_url") or body["verification_uri"])
    except (KeyError, TypeError, ValueError):
        raise LoginError(f"the device authorization endpoint sent an unreadable answer: {body}")


def poll_device_token(session, token_url, client_id, client_secret, device,
                      sleep=time.sleep, clock=time.monotonic):
    """Poll until the user approves (tokens), refuses or the code expires (LoginError)."""
    interval, deadline = device["interval"], clock() + device["expires_in"]
    while True:
        sleep(interval)
        if clock() > deadline:
            raise LoginError("the code expired before it was entered; run the command again")
        try:
            status, body = _token_request(session, token_url, {
                "client_id": client_id, "client_secret": client_secret,
                "device_code": device["device_code"], "grant_type": DEVICE_GRANT})
        except LoginError:
            continue  # unreachable for a moment: the code stays valid, ask again
        error = body.get("error")
        if status == 200 or not error:
            if status >= 500:
                continue
            return _tokens(status, body)
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5  # RFC 8628: slow down by 5 seconds
            continue
        if error == "access_denied":
            raise LoginError("authorization refused on the consent page")
        if error == "expired_token":
            raise LoginError("the code expired before it was entered; run the command again")
        raise LoginError(f"the token endpoint refused: {body.get('error_description') or error}")


def channel_title(session, channels_url, access_token, timeout=30):
    """The title of the authorized account's YouTube channel, or None if it has none."""
    try:
        resp = session.get(channels_url, params={"part": "snippet", "mine": "true"},
                           headers={"Authorization": f"Bearer {access_token}"}, timeout=timeout)
    except requests.RequestException as e:
        raise LoginError(f"cannot reach the YouTube API: {e}")
    if resp.status_code != 200:
        raise LoginError(f"the YouTube API answered {resp.status_code}: "
                         f"{' '.join(resp.text.split())[:200]}")
    try:
        items = resp.json().get("items") or []
        return items[0]["snippet"]["title"] if items else None
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        raise LoginError("the YouTube API sent an unreadable channel list")


def write_credentials(path, client_id, client_secret, tokens):
    """The youtube backend's credentials file, mode 0600, written atomically (temp + rename)."""
    creds = {"client_id": client_id, "client_secret": client_secret,
             "refresh_token": tokens["refresh_token"]}
    if tokens.get("scope"):
        creds["scope"] = tokens["scope"]
    atomic_write(path, json.dumps(creds, indent=1) + "\n", mode=0o600)
