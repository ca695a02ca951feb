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
        self.csrf = None

    def request(self, method, path, body=None):
        """The answer's JSON; ApiRefused with the API's reason for a 4xx/5xx. Writes carry
        the session's CSRF token, as the page sends it."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method,
                                         headers=headers)
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
        """{"editor": NAME, "admin": bool, "csrf": ...}; the session cookie and CSRF token
        are kept for the requests after it."""
        who = self.request("POST", "/api/session", {"token": token})
        self.csrf = who["csrf"]
        return who

    def submit_cut(self, start, end, stream, location, title):
        """An event created and submitted for cutting, as an editor does on the page: the
        event as the API returns it."""
        iso = "%Y-%m-%dT%H:%M:%S.%fZ"
        event = self.request("POST", "/api/events", {"event_start": start.strftime(iso)})
        return self.request("PUT", f"/api/events/{event['id']}", {
            "version": event["version"], "video_start": start.strftime(iso),
            "video_end": end.strftime(iso), "video_title": title,
            "video_description": "submitted through the editor's API by scripts/docker-check",
            "video_stream": stream, "upload_location": location, "submit": True})
