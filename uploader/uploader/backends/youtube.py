"""The `youtube` backend: the YouTube Data API v3 resumable upload protocol.

1. POST the metadata to the upload URL (uploadType=resumable); the answer's Location is the
   upload session.
2. PUT the video in chunks with Content-Range. 308 = "got it, send more"; 200/201 = the video
   exists (its resource is the body). The request carrying the last byte is the one that makes the
   upload official: before_finalize() runs just before it.
3. After a dropped connection or a 5xx on a non-final chunk, PUT an empty body with
   `Content-Range: bytes */SIZE` to learn how much the server has (308 + Range), and resume
   from there instead of starting over.

Any 4xx is final and never retried: a rejected upload is rejected again, and retries burn the
API quota. A 5xx or an unanswered request on the final chunk leaves the upload's fate unknown:
that propagates as UploadUnknown, never as UploadError.
"""

import logging

import gevent
import requests

from common.http_client import InstrumentedSession

from .base import Backend, ConfigError, Option, TranscodeStatus, UploadError, UploadUnknown
from .oauth import RefreshingToken, TokenError, load_credentials

log = logging.getLogger(__name__)

CHUNK_QUANTUM = 256 * 1024  # the protocol wants chunks in multiples of this (but the last)
CONTENT_TYPES = {"mpegts": "video/mp2t", "mp4": "video/mp4"}
STATUS_BATCH = 50  # ids per videos.list call (the API's maximum)


class YoutubeBackend(Backend):
    name = "youtube"
    needs_seekable = True
    needs_transcode = True
    OPTIONS = {
        "credentials_file": Option(str, required=True,
            help="JSON file with client_id, client_secret and refresh_token"),
        "privacy": Option(str, "private", help="private, unlisted or public"),
        "category_id": Option(str, "20", help="YouTube video category id"),
        "chunk_size": Option(int, 8 * 1024 * 1024, help="bytes per upload request"),
        "timeout": Option(float, 60.0, help="seconds to wait for any one response"),
        "resume_attempts": Option(int, 5, help="status queries before giving up on a session"),
        "retry_backoff": Option(float, 2.0, help="seconds before the first retry (doubles)"),
        "token_url": Option(str, "https://oauth2.googleapis.com/token"),
        "upload_url": Option(str, "https://www.googleapis.com/upload/youtube/v3/videos"),
        "videos_url": Option(str, "https://www.googleapis.com/youtube/v3/videos"),
        "link_prefix": Option(str, "https://youtu.be/", help="link = link_prefix + video id"),
        "container": Option(str, "mpegts", help="mpegts or mp4, for fast and full cuts"),
        "encode_args": Option(list, help="ffmpeg output arguments for full cuts"),
    }

    def __init__(self, **options):
        super().__init__(**options)
        if self.privacy not in ("private", "unlisted", "public"):
            raise ConfigError("backend youtube: privacy must be private, unlisted or public")
        if self.chunk_size <= 0 or self.chunk_size % CHUNK_QUANTUM:
            raise ConfigError(f"backend youtube: chunk_size must be a multiple of {CHUNK_QUANTUM}")
        # `not 0 < x < inf` also refuses NaN and Infinity (Python's JSON parser accepts them).
        if not 0 < self.timeout < float("inf"):
            raise ConfigError("backend youtube: timeout must be a positive number of seconds")
        if not 0 <= self.retry_backoff < float("inf"):
            raise ConfigError("backend youtube: retry_backoff must be a number of seconds >= 0")
        if self.resume_attempts < 0:
            raise ConfigError("backend youtube: resume_attempts must be at least 0")
        if self.container not in CONTENT_TYPES:
            raise ConfigError("backend youtube: container must be one of "
                              + ", ".join(CONTENT_TYPES))
        try:
            creds = load_credentials(self.credentials_file)
        except ValueError as e:
            raise ConfigError(f"backend youtube: {e}")
        self.encoding_settings = self.encode_args
        self.session = InstrumentedSession("youtube")
        self.token = RefreshingToken(self.session, self.token_url, creds["client_id"],
                                     creds["client_secret"], creds["refresh_token"],
                                     backoff=self.retry_backoff, timeout=self.timeout)

    def _auth(self):
        try:
            return {"Authorization": f"Bearer {self.token.get()}"}
        except TokenError as e:
            raise UploadError(f"no YouTube access token: {e}", retryable=True)

    # --- upload ---

    def upload(self, title, description, tags, chunks, container="mpegts", before_finalize=None):
        spool = chunks
        if spool.size == 0:
            raise UploadError("the cut is empty, nothing to upload")
        session_url = self._start_session(title, description, tags, spool.size, container)
        return self._send(session_url, spool, before_finalize)

    def _start_session(self, title, description, tags, size, container):
        metadata = {
            "snippet": {"title": title, "description": description, "tags": list(tags),
                        "categoryId": self.category_id},
            "status": {"privacyStatus": self.privacy},
        }
        headers = dict(self._auth(), **{
            "X-Upload-Content-Length": str(size),
            "X-Upload-Content-Type": CONTENT_TYPES[container],
        })
        try:
            resp = self.session.post(self.upload_url, json=metadata, headers=headers,
                params={"uploadType": "resumable", "part": "snippet,status"}, timeout=self.timeout)
        except requests.RequestException as e:
            # No video data was sent: no video can exist.
            raise UploadError(f"cannot start a YouTube upload session: {e}", retryable=True)
        if 400 <= resp.status_code < 500:
            if resp.status_code == 401:
                self.token.invalidate()
            raise UploadError(f"YouTube refused the upload: {_describe(resp)}")
        location = resp.headers.get("Location")
        if resp.status_code != 200 or not location:
            raise UploadError(f"YouTube did not open an upload session: {_describe(resp)}",
                              retryable=True)
        return location

    def _send(self, session_url, spool, before_finalize):
        size, offset, finalizing, failures = spool.size, 0, False, 0
        while True:
            end = min(offset + self.chunk_size, size)
            if end == size and not finalizing:
                if before_finalize is not None:
                    before_finalize()
                finalizing = True
            try:
                resp = self.session.put(session_url, data=spool.read(offset, end - offset),
                    headers=dict(self._chunk_auth(finalizing),
                                 **{"Content-Range": f"bytes {offset}-{end - 1}/{size}"}),
                    timeout=self.timeout)
            except requests.RequestException as e:
                failure = f"connection failed while sending bytes {offset}-{end - 1}: {e}"
            else:
                if resp.status_code in (200, 201):
                    return self._video(resp)
                if resp.status_code == 308:
                    offset, failures = _next_offset(resp), 0
                    continue
                if resp.status_code in (404, 410) and not finalizing:
                    # The session expired; the last byte was never sent, so no video exists.
                    raise UploadError(f"upload session gone: {_describe(resp)}", retryable=True)
                if 400 <= resp.status_code < 500:
                    raise UploadError(f"YouTube rejected the upload: {_describe(resp)}")
                if finalizing:
                    raise UploadUnknown(f"YouTube answered {_describe(resp)} to the request "
                                        "completing the upload: the video may or may not exist")
                failure = f"YouTube answered {_describe(resp)}"
            failures += 1
            log.warning("upload interrupted (%s); asking how much YouTube has", failure)
            result = self._query(session_url, size, finalizing, failures, failure)
            if isinstance(result, tuple):
                return result
            if result > offset:
                failures = 0  # progress: the attempt budget is for consecutive failures
            offset = result
            log.info("resuming the upload at byte %d of %d", offset, size)

    def _chunk_auth(self, finalizing):
        try:
            return self._auth()
        except UploadError:
            if finalizing:
                raise UploadUnknown("lost the access token during the final request")
            raise

    def _query(self, session_url, size, finalizing, failures, failure):
        """How far the server got: a new offset, or (video_id, link) if it is complete."""
        for attempt in range(failures - 1, self.resume_attempts):
            gevent.sleep(self.retry_backoff * 2 ** min(attempt, 6))
            try:
                resp = self.session.put(session_url, data=b"",
                    headers=dict(self._chunk_auth(finalizing),
                                 **{"Content-Range": f"bytes */{size}"}),
                    timeout=self.timeout)
            except requests.RequestException as e:
                failure = f"status query failed: {e}"
                continue
            if resp.status_code in (200, 201):
                return self._video(resp)
            if resp.status_code == 308:
                return _next_offset(resp)
            failure = f"status query answered {_describe(resp)}"
            if 400 <= resp.status_code < 500:
                break  # the session is gone (expired or rejected)
        if finalizing:
            raise UploadUnknown(f"cannot learn whether the upload completed ({failure})")
        # The last byte was never sent, so no video can exist.
        raise UploadError(f"upload failed ({failure})", retryable=True)

    def _video(self, resp):
        try:
            video_id = resp.json()["id"]
        except (ValueError, KeyError, TypeError):
            raise UploadUnknown(f"YouTube accepted the upload but sent no video id: "
                                f"{resp.text[:200]!r}")
        return video_id, self.link_prefix + video_id

    # --- transcode status ---

    def check_status(self, ids):
        result = {}
        ids = list(ids)
        for i in range(0, len(ids), STATUS_BATCH):
            batch = ids[i:i + STATUS_BATCH]
            try:
                headers = self._auth()
            except UploadError as e:
                raise RuntimeError(str(e))
            resp = self.session.get(self.videos_url, headers=headers, timeout=self.timeout,
                params={"part": "id,status", "id": ",".join(batch)})
            if resp.status_code != 200:
                raise RuntimeError(f"videos list failed: {_describe(resp)}")
            for item in resp.json().get("items", []):
                status = item.get("status", {})
                upload_status = status.get("uploadStatus")
                if upload_status == "processed":
                    result[item["id"]] = TranscodeStatus(True)
                elif upload_status in ("failed", "rejected", "deleted"):
                    reason = status.get("failureReason") or status.get("rejectionReason") or ""
                    error = f"YouTube: {upload_status} {reason}".strip()
                    result[item["id"]] = TranscodeStatus(False, error)
                else:
                    result[item["id"]] = TranscodeStatus(False)
        return result


def _next_offset(resp):
    """The byte after the last one the server has (Range: bytes=0-N), 0 if it has none."""
    value = resp.headers.get("Range", "")
    try:
        return int(value.rsplit("-", 1)[1]) + 1
    except (IndexError, ValueError):
        return 0


def _describe(resp):
    text = resp.text.strip().replace("\n", " ")[:300]
    return f"{resp.status_code} {text}" if text else str(resp.status_code)
