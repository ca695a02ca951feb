"""OAuth 2 access tokens from a refresh token, refreshed before they expire.

A failed refresh (network error, 5xx) is retried a few times; if it still fails while the old
token has not expired yet, the old token is used. Only when no usable token exists does get()
raise TokenError, and callers treat that as "nothing was uploaded, try again later".
"""

import json
import logging
import time

import gevent
import requests

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
