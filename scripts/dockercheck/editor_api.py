"""The editor's JSON API as a browser uses it: sign in with a login token (a session cookie),
then read (editor/README.md)."""

import http.cookiejar
import json
import urllib.error
import urllib.request


class ApiRefused(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class EditorSession:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(self, method, path, body=None):
        """The answer's JSON; ApiRefused with the API's reason for a 4xx/5xx."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=15) as response:
                return json.load(response)
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                text = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                pass
            raise ApiRefused(e.code, text) from None

    def sign_in(self, token):
        """{"editor": NAME, "admin": bool, "csrf": ...} and the session cookie kept."""
        return self.request("POST", "/api/session", {"token": token})
