"""A local fake of the Google endpoints the `youtube` backend and `youtube-login` use, over
real HTTP.

Implements the OAuth token refresh, the resumable upload protocol (session start, chunked PUTs
with Content-Range, `bytes */N` status queries answered 308 + Range or 200 + the video),
videos.list's status, and for youtube-login: the consent page of the loopback flow (/auth
redirects at once, as if the user allowed access, or refused if `deny`), the authorization code
exchange with PKCE, the device flow (/device/code; the token endpoint answers
authorization_pending until approve(user_code)), and channels.list?mine=true (needs a token
granted a scope that may read the channel). Two OAuth clients: a "Desktop app" (CLIENTS
"desktop") and a "TVs and Limited Input devices" one ("tv"), each allowed only its own flow.
Faults to inject, each counted down as it is used:
  token_failures: token requests answered 500 first
  init_status:    an HTTP status for the session-start request (e.g. 403)
  drop_at:        byte offset at which the connection is dropped mid-chunk (once)
  final_status:   an HTTP status for the request carrying the last byte (e.g. 503)
  processing_polls: videos.list calls answering "uploaded" before "processed"
"""

import base64
import hashlib
import json
import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

REFRESH_TOKEN = "refresh-me"
# kind -> (client_id, client_secret)
CLIENTS = {"desktop": ("desktop-client", "desktop-secret"), "tv": ("tv-client", "tv-secret")}
READ_SCOPES = {"https://www.googleapis.com/auth/youtube",
               "https://www.googleapis.com/auth/youtube.readonly"}


class FakeYoutube:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = {}  # id -> {"size", "data": bytearray, "meta", "video"}
        self.videos = {}  # id -> {"data", "meta", "polls"}
        self.log = []  # (method, path) of every request
        self.tokens = set()
        self.token_failures = 0
        self.init_status = None
        self.drop_at = None
        self.final_status = None
        self.processing_polls = 0
        self.gate = None  # a threading.Event every chunk PUT waits for, if set
        # youtube-login
        # refresh token -> the scope it was granted
        self.refresh_tokens = {REFRESH_TOKEN: "https://www.googleapis.com/auth/youtube"}
        self.token_scopes = {}  # access token -> granted scope (space-separated)
        self.codes = {}  # authorization code -> the /auth request's parameters
        self.devices = {}  # device code -> {"user_code", "scope", "approved", "denied"}
        self.auth_requests = []  # parameters of every /auth request
        self.deny = False  # the user refuses on the consent page
        self.slow_down = 0  # device polls answered slow_down first
        self.channel_title = "Charity Stream Highlights"  # None: the account has no channel
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def endpoints(self):
        return {"token_url": self.url + "/token", "upload_url": self.url + "/upload/videos",
                "videos_url": self.url + "/videos"}

    @property
    def login_endpoints(self):
        """youtube-login's endpoint options pointing here."""
        return ["--auth-url", self.url + "/auth", "--token-url", self.url + "/token",
                "--device-url", self.url + "/device/code", "--channels-url",
                self.url + "/channels"]

    def write_client_secrets(self, path, kind="desktop"):
        """The JSON Google's console downloads for an installed application's client."""
        client_id, secret = CLIENTS[kind]
        with open(path, "w") as f:
            json.dump({"installed": {
                "client_id": client_id, "client_secret": secret, "project_id": "archive",
                "auth_uri": self.url + "/auth", "token_uri": self.url + "/token",
                "redirect_uris": ["http://localhost"]}}, f)
        return str(path)

    def approve(self, user_code, deny=False):
        """The user entered user_code at the verification URL and allowed (or refused)."""
        for device in self.devices.values():
            if device["user_code"] == user_code:
                device["denied" if deny else "approved"] = True
                return True
        return False

    def write_credentials(self, path):
        with open(path, "w") as f:
            json.dump({"client_id": "cid", "client_secret": "secret",
                       "refresh_token": REFRESH_TOKEN}, f)
        return str(path)

    def count(self, method, prefix):
        return sum(1 for m, p in self.log if m == method and p.startswith(prefix))

    def _handler(fake):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=None, headers=()):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self, limit=None):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length if limit is None else min(length, limit))

            def _authorized(self):
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
                    self._body()
                    self._reply(401, {"error": "invalid token"})
                    return False
                return True

            def do_POST(self):
                url = urlparse(self.path)
                fake.log.append(("POST", url.path))
                if url.path == "/token":
                    return self._token()
                if url.path == "/upload/videos":
                    return self._start()
                if url.path == "/device/code":
                    return self._device_code()
                self._reply(404, {"error": "no such endpoint"})

            def _token(self):
                form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                with fake.lock:
                    if fake.token_failures:
                        fake.token_failures -= 1
                        return self._reply(500, {"error": "backend error"})
                grant = form.get("grant_type")
                if grant == "refresh_token":
                    scope = fake.refresh_tokens.get(form.get("refresh_token"))
                    if scope is None:
                        return self._reply(400, {"error": "invalid_grant"})
                    return self._reply(200, fake._grant(scope))
                client = self._client(form)
                if client is None:
                    return self._reply(401, {"error": "invalid_client",
                                             "error_description": "The OAuth client was not "
                                             "found."})
                if grant == "authorization_code":
                    return self._code_grant(form)
                if grant == "urn:ietf:params:oauth:grant-type:device_code":
                    return self._device_grant(form)
                self._reply(400, {"error": "unsupported_grant_type"})

            def _client(self, form, need_secret=True):
                """The kind of the form's OAuth client, if it is one we know."""
                for kind, (client_id, secret) in CLIENTS.items():
                    if form.get("client_id") == client_id and (
                            not need_secret or form.get("client_secret") == secret):
                        return kind
                return None

            def _code_grant(self, form):
                request = fake.codes.pop(form.get("code"), None)
                if request is None or request["redirect_uri"] != form.get("redirect_uri") \
                        or request["client_id"] != form.get("client_id"):
                    return self._reply(400, {"error": "invalid_grant",
                                             "error_description": "Bad Request"})
                verifier = form.get("code_verifier", "").encode()
                challenge = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
                if challenge != request["code_challenge"]:
                    return self._reply(400, {"error": "invalid_grant",
                                             "error_description": "Invalid code verifier."})
                self._reply(200, fake._grant(request["scope"], refresh=True))

            def _device_grant(self, form):
                device = fake.devices.get(form.get("device_code"))
                if device is None:
                    return self._reply(400, {"error": "invalid_grant"})
                if fake.slow_down:
                    fake.slow_down -= 1
                    return self._reply(403, {"error": "slow_down"})
                if device.get("denied"):
                    return self._reply(403, {"error": "access_denied"})
                if not device.get("approved"):
                    return self._reply(428, {"error": "authorization_pending"})
                del fake.devices[form["device_code"]]
                self._reply(200, fake._grant(device["scope"], refresh=True))

            def _device_code(self):
                form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                if self._client(form, need_secret=False) != "tv":
                    return self._reply(401, {"error": "invalid_client",
                                             "error_description": "Invalid client type."})
                scopes = set(form.get("scope", "").split())
                if not scopes or not scopes <= READ_SCOPES:  # the flow's short list
                    return self._reply(400, {"error": "invalid_scope"})
                device_code, user_code = uuid.uuid4().hex, uuid.uuid4().hex[:8].upper()
                fake.devices[device_code] = {"user_code": user_code, "scope": form["scope"]}
                self._reply(200, {"device_code": device_code, "user_code": user_code,
                                  "verification_url": fake.url + "/device",
                                  "expires_in": 1800, "interval": 0.05})

            def _start(self):
                if not self._authorized():
                    return
                query = parse_qs(urlparse(self.path).query)
                meta = json.loads(self._body() or b"{}")
                if fake.init_status:
                    return self._reply(fake.init_status, {"error": {"message": "quota exceeded"}})
                if query.get("uploadType") != ["resumable"]:
                    return self._reply(400, {"error": "want uploadType=resumable"})
                size = int(self.headers["X-Upload-Content-Length"])
                sid = uuid.uuid4().hex
                with fake.lock:
                    fake.sessions[sid] = {"size": size, "data": bytearray(), "meta": meta,
                                          "video": None}
                self._reply(200, {}, [("Location", f"{fake.url}/session/{sid}")])

            def do_PUT(self):
                url = urlparse(self.path)
                fake.log.append(("PUT", url.path))
                sid = url.path.rsplit("/", 1)[-1]
                session = fake.sessions.get(sid)
                if not url.path.startswith("/session/") or session is None:
                    self._body()
                    return self._reply(404, {"error": "no such upload session"})
                if not self._authorized():
                    return
                content_range = self.headers.get("Content-Range", "")
                if re.fullmatch(r"bytes \*/\d+", content_range):
                    self._body()
                    return self._status(session)
                m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
                if not m:
                    self._body()
                    return self._reply(400, {"error": f"bad Content-Range {content_range!r}"})
                if fake.gate is not None:
                    fake.gate.wait()
                first, last, size = map(int, m.groups())
                data = session["data"]
                if first > len(data) or size != session["size"]:
                    self._body()
                    return self._reply(400, {"error": "range does not continue the upload"})
                del data[first:]
                if fake.drop_at is not None and first <= fake.drop_at <= last:
                    data += self._body(limit=fake.drop_at - first)
                    fake.drop_at = None
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data += self._body()
                if last + 1 == size and fake.final_status:
                    return self._reply(fake.final_status, {"error": "backend error"})
                self._status(session)

            def _status(self, session):
                with fake.lock:
                    if session["video"] is None and len(session["data"]) == session["size"]:
                        video_id = uuid.uuid4().hex[:11]
                        fake.videos[video_id] = {"data": bytes(session["data"]),
                                                 "meta": session["meta"],
                                                 "polls": fake.processing_polls}
                        session["video"] = video_id
                if session["video"]:
                    return self._reply(201, {"id": session["video"], "kind": "youtube#video"})
                received = len(session["data"])
                headers = [("Range", f"bytes=0-{received - 1}")] if received else []
                self._reply(308, None, headers)

            def do_GET(self):
                url = urlparse(self.path)
                fake.log.append(("GET", url.path))
                if url.path == "/auth":
                    return self._consent(parse_qs(url.query))
                if url.path == "/channels":
                    return self._channels(parse_qs(url.query))
                if url.path != "/videos":
                    return self._reply(404, {"error": "no such endpoint"})
                if not self._authorized():
                    return
                ids = parse_qs(url.query).get("id", [""])[0].split(",")
                items = []
                with fake.lock:
                    for video_id in ids:
                        video = fake.videos.get(video_id)
                        if video is None:
                            continue
                        status = "processed" if video["polls"] <= 0 else "uploaded"
                        video["polls"] -= 1
                        items.append({"id": video_id, "status": {"uploadStatus": status}})
                self._reply(200, {"items": items})

            def _consent(self, query):
                """The consent page: the user signs in and allows (or refuses) at once."""
                params = {k: v[0] for k, v in query.items()}
                fake.auth_requests.append(params)
                redirect = urlparse(params.get("redirect_uri", ""))
                if self._client(params, need_secret=False) != "desktop" \
                        or redirect.scheme != "http" or redirect.hostname != "127.0.0.1" \
                        or params.get("response_type") != "code" \
                        or params.get("code_challenge_method") != "S256":
                    return self._reply(400, {"error": "invalid_request"})
                answer = {"state": params.get("state", "")}
                if fake.deny:
                    answer["error"] = "access_denied"
                else:
                    code = uuid.uuid4().hex
                    fake.codes[code] = params
                    answer.update(code=code, scope=params["scope"])
                self._reply(302, None, [("Location",
                                         params["redirect_uri"] + "?" + urlencode(answer))])

            def _channels(self, query):
                token = self.headers.get("Authorization", "")[7:]
                if not self._authorized():
                    return
                if query.get("mine") != ["true"]:
                    return self._reply(400, {"error": "want mine=true"})
                if not set(fake.token_scopes.get(token, "").split()) & READ_SCOPES:
                    return self._reply(403, {"error": {"message": "insufficientPermissions"}})
                items = [] if fake.channel_title is None else [
                    {"id": "UC123", "snippet": {"title": fake.channel_title}}]
                self._reply(200, {"items": items})

        return Handler

    def _grant(self, scope, refresh=False):
        """A token response: a new access token (and refresh token) for `scope`."""
        token = uuid.uuid4().hex
        self.tokens.add(token)
        self.token_scopes[token] = scope or ""
        body = {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        if refresh:
            body["refresh_token"] = uuid.uuid4().hex
            body["scope"] = scope
            self.refresh_tokens[body["refresh_token"]] = scope
        return body
