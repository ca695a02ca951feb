"""A local fake of the YouTube endpoints the `youtube` backend uses, over real HTTP.

Implements the OAuth token refresh, the resumable upload protocol (session start, chunked PUTs
with Content-Range, `bytes */N` status queries answered 308 + Range or 200 + the video) and
videos.list's status. Faults to inject, each counted down as it is used:
  token_failures: token requests answered 500 first
  init_status:    an HTTP status for the session-start request (e.g. 403)
  drop_at:        byte offset at which the connection is dropped mid-chunk (once)
  final_status:   an HTTP status for the request carrying the last byte (e.g. 503)
  processing_polls: videos.list calls answering "uploaded" before "processed"
"""

import json
import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

REFRESH_TOKEN = "refresh-me"


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
                self._reply(404, {"error": "no such endpoint"})

            def _token(self):
                form = parse_qs(self._body().decode())
                with fake.lock:
                    if fake.token_failures:
                        fake.token_failures -= 1
                        return self._reply(500, {"error": "backend error"})
                if form.get("refresh_token") != [REFRESH_TOKEN] or \
                        form.get("grant_type") != ["refresh_token"]:
                    return self._reply(400, {"error": "invalid_grant"})
                token = uuid.uuid4().hex
                fake.tokens.add(token)
                self._reply(200, {"access_token": token, "expires_in": 3600})

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

        return Handler
