"""The restreamer's HTTP API (Flask): listings, segments, playlists, cuts, coverage, metrics.

Routes are documented in restreamer/README.md. Every client error is a 4xx with a one-line
plain-text reason; large bodies (segments, cuts, long playlists) are streamed.
"""

import json
import logging
import os
import time
from datetime import timedelta

import gevent
import gevent.lock
import prometheus_client as prom
from flask import Flask, Response, request, send_file
from werkzeug.exceptions import HTTPException

from common import cuts, http_server, renditions
from common.dateutil import utcnow
from common.segments import ContainsHoles, get_best_segments, is_final_segment_name, parse_hour

from . import audio_groups, playlists, variants
from .listings import HourListings
from .media_playlists import MediaPlaylists
from .cut_body import CutBody
from .params import BadRequest, check_component, parse_bool, parse_choice, parse_range
from .variant_info import blueprint as variant_info_routes

log = logging.getLogger(__name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
CUT_TYPES = ("rough", "fast", "full")
CONTAINERS = {"ts": ("mpegts", "video/MP2T"), "mp4": ("mp4", "video/mp4")}
FULL_CUT_RETRY_AFTER = 30

requests_total = prom.Counter(
    "http_requests", "HTTP requests handled", ["endpoint", "method", "status"])
request_latency = prom.Histogram(
    "http_request_latency_seconds", "Time until the response headers were ready",
    ["endpoint", "method"],
    buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60))
cuts_rejected = prom.Counter(
    "cuts_rejected", "Full cuts refused because too many were running", ["type"])


class Config:
    def __init__(self, base_dir, max_cut_duration=timedelta(hours=6),
                 max_playlist_duration=timedelta(days=7), max_concurrent_full_cuts=None,
                 encode_args=None):
        self.base_dir = os.path.abspath(base_dir)
        self.max_cut_duration = max_cut_duration
        self.max_playlist_duration = max_playlist_duration
        self.max_concurrent_full_cuts = max_concurrent_full_cuts or os.cpu_count() or 1
        self.encode_args = encode_args or cuts.DEFAULT_ENCODE_ARGS


def create_app(config):
    app = Flask(__name__, root_path=os.path.dirname(os.path.abspath(__file__)))
    app.config["restreamer"] = config
    full_cuts = gevent.lock.BoundedSemaphore(config.max_concurrent_full_cuts)
    media_playlists = MediaPlaylists(config.base_dir)
    hour_listings = HourListings()

    # --- plumbing: errors, CORS, metrics ----------------------------------------------------

    @app.errorhandler(BadRequest)
    def bad_request(e):
        return _text(str(e), e.status)

    @app.errorhandler(HTTPException)
    def http_error(e):
        return _text(f"{e.name}: {e.description}" if e.code != 404 else "not found", e.code)

    @app.errorhandler(Exception)
    def server_error(e):
        log.exception("error handling %s %s", request.method, request.path)
        return _text(f"internal error: {type(e).__name__}: {e}".splitlines()[0], 500)

    @app.before_request
    def start_timer():
        request.environ["restreamer.start"] = time.monotonic()

    @app.after_request
    def finish(response):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "Content-Length, Content-Range"
        endpoint = request.endpoint or "unmatched"
        started = request.environ.get("restreamer.start")
        if started is not None:
            request_latency.labels(endpoint, request.method).observe(time.monotonic() - started)
        requests_total.labels(endpoint, request.method, str(response.status_code)).inc()
        return response

    @app.route("/metrics")
    def metrics():
        return Response(prom.generate_latest(), mimetype=prom.CONTENT_TYPE_LATEST)

    app.register_blueprint(variant_info_routes)  # GET /variant/STREAM/VARIANT.json

    # --- paths ------------------------------------------------------------------------------

    def variant_path(stream, variant):
        check_component(stream, "stream")
        check_component(variant, "variant")
        path = os.path.join(config.base_dir, stream, variant)
        if not os.path.isdir(path):
            raise BadRequest(f"no such stream/variant: {stream}/{variant}", 404)
        return path

    # --- listings (the backfiller's view of this node) --------------------------------------

    @app.route("/files")
    def list_streams():
        return _json(_list_dirs(config.base_dir))

    @app.route("/files/<stream>")
    def list_variants(stream):
        check_component(stream, "stream")
        return _json(_list_dirs(os.path.join(config.base_dir, stream)))

    @app.route("/files/<stream>/<variant>")
    def list_hours(stream, variant):
        check_component(stream, "stream")
        check_component(variant, "variant")
        return _json([name for name in _list_dirs(os.path.join(config.base_dir, stream, variant))
                      if _is_hour(name)])

    @app.route("/files/<stream>/<variant>/<hour>")
    def list_segments(stream, variant, hour):
        for value, what in ((stream, "stream"), (variant, "variant"), (hour, "hour")):
            check_component(value, what)
        path = os.path.join(config.base_dir, stream, variant, hour)
        return Response(hour_listings.json(path), mimetype="application/json")

    @app.route("/segments/<stream>/<variant>/<hour>/<name>")
    def segment(stream, variant, hour, name):
        for value, what in ((stream, "stream"), (variant, "variant"), (hour, "hour"),
                            (name, "segment")):
            check_component(value, what)
        if not is_final_segment_name(name):
            raise BadRequest(f"not a segment file name: {name!r}", 404)
        path = os.path.join(config.base_dir, stream, variant, hour, name)
        try:
            return send_file(path, mimetype="video/MP2T", conditional=True, etag=True,
                             max_age=86400)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BadRequest(f"no such segment: {stream}/{variant}/{hour}/{name}", 404) from None
        except OSError as e:  # e.g. a name too long for the filesystem
            raise BadRequest(f"no such segment: {e.strerror}", 404) from None

    # --- coverage maps (written by segment_coverage into BASE/.coverage) --------------------

    @app.route("/coverage/")
    @app.route("/coverage/<name>")
    def coverage(name="index.html"):
        check_component(name, "file")
        path = os.path.join(config.base_dir, ".coverage", name)
        if not os.path.isfile(path):
            raise BadRequest(f"no coverage file {name!r} (is segment_coverage running?)", 404)
        return send_file(path, conditional=True, max_age=10)

    # --- playlists --------------------------------------------------------------------------

    @app.route("/playlist/<stream>.m3u8")
    def master_playlist(stream):
        check_component(stream, "stream")
        start, end = parse_range(request.args, config.max_playlist_duration, "playlist",
                                 require_end=False)
        stream_path = os.path.join(config.base_dir, stream)
        if not os.path.isdir(stream_path):
            raise BadRequest(f"no such stream: {stream}", 404)
        infos = [variants.variant_info(config.base_dir, stream, v, start, end)
                 for v in _list_dirs(stream_path)]
        infos = sorted((i for i in infos if i), key=lambda i: -i["bandwidth"])
        if not infos:
            raise BadRequest(f"stream {stream} has no data in that range", 404)
        infos, audio = audio_groups.split(config.base_dir, stream, infos)
        query = request.query_string.decode("latin-1")
        return Response(playlists.master_playlist(infos, query, audio), mimetype=PLAYLIST_TYPE)

    @app.route("/playlist/<stream>/<variant>.m3u8")
    def media_playlist(stream, variant):
        hours_path = variant_path(stream, variant)
        start, end = parse_range(request.args, config.max_playlist_duration, "playlist",
                                 require_end=False)
        prefix = playlists.segment_uri_prefix(stream, variant)
        now = utcnow()
        if end is not None:
            entries, finished = media_playlists.fixed(hours_path, start, end, now)
            body = playlists.media_playlist(entries, hours_path, prefix, endlist=finished,
                                            playlist_type="VOD" if finished else None)
        else:
            if start is not None and now - start > config.max_playlist_duration:
                raise BadRequest("live playlist start is further back than the maximum "
                                 "playlist range; give a later start")
            entries, sequence, discontinuities = media_playlists.live(hours_path, start, now)
            body = playlists.media_playlist(entries, hours_path, prefix,
                                            media_sequence=sequence,
                                            discontinuity_sequence=discontinuities)
        return Response(_yielding(body), mimetype=PLAYLIST_TYPE)

    # --- cuts -------------------------------------------------------------------------------

    @app.route("/cut/<stream>/<variant>.<ext>")
    def cut(stream, variant, ext):
        if ext not in CONTAINERS:
            raise BadRequest(f"unknown cut format .{ext}: want .ts or .mp4", 404)
        hours_path = variant_path(stream, variant)
        container, mimetype = CONTAINERS[ext]
        start, end = parse_range(request.args, config.max_cut_duration, "cut", require_end=True)
        if end - start < cuts.MIN_CUT_DURATION:
            raise BadRequest(f"cut range of {(end - start).total_seconds():g}s is shorter than "
                             f"the minimum {cuts.MIN_CUT_DURATION.total_seconds():g}s")
        allow_holes = parse_bool(request.args, "allow_holes", False)
        kind = parse_choice(request.args, "type", CUT_TYPES, "fast")
        if kind == "rough" and container != "mpegts":
            raise BadRequest("rough cuts are the segments' MPEG-TS bytes: use .ts")
        try:
            segments = get_best_segments(hours_path, start, end, allow_holes=allow_holes)
        except ContainsHoles:
            if not any(get_best_segments(hours_path, start, end)):
                raise BadRequest("no data in that range", 406) from None
            raise BadRequest("the range contains holes (pass allow_holes=true to cut anyway)",
                             406) from None
        if not any(segments):
            raise BadRequest("no data in that range", 406)
        if request.method == "HEAD":  # what a GET would send, without running a cut
            return Response(b"", mimetype=mimetype)
        audio = renditions.audio_segments(hours_path, segments)  # a separate sound, if any
        release = None
        if kind == "full":
            if not full_cuts.acquire(blocking=False):
                cuts_rejected.labels(kind).inc()
                response = _text(f"too many full cuts running (limit "
                                 f"{config.max_concurrent_full_cuts}); retry later", 429)
                response.headers["Retry-After"] = str(FULL_CUT_RETRY_AFTER)
                return response
            release = full_cuts.release
        try:
            if kind == "rough":
                body = cuts.rough_cut(segments, start, end, audio=audio)
            elif kind == "fast":
                body = cuts.fast_cut(segments, start, end, container, audio=audio)
            else:
                body = cuts.full_cut(segments, start, end, config.encode_args, container,
                                     audio=audio)
            stream_body = CutBody(body, kind, container, release,
                                   request.environ.get(http_server.SOCKET_KEY),
                                   f"{stream}/{variant} {start.isoformat()}..{end.isoformat()}")
            release = None  # the body owns the slot now
        finally:
            if release is not None:
                release()
        try:
            stream_body.prefetch()
        except cuts.CutError as e:
            log.error("cut %s/%s %s-%s failed: %s", stream, variant, start, end, e)
            return _text(f"cut failed: {e}".splitlines()[0], 500)
        name = f"{stream}-{variant}-{start:%Y%m%dT%H%M%S}.{ext}"
        response = Response(stream_body, mimetype=mimetype, direct_passthrough=True)
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'
        return response

    return app


def _text(message, status):
    return Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def _yielding(chunks):
    """Let other requests run between a long body's chunks: writing to a fast client's socket
    never blocks, so a 7-day playlist would otherwise hold the server for its whole length."""
    for chunk in chunks:
        yield chunk
        gevent.idle()  # (sleep(0) would let dozens of chunks pass before sockets are polled)


def _json(value):
    return Response(json.dumps(value), mimetype="application/json")


def _list_dirs(path):
    """Subdirectories of path, sorted; names starting with '.' are private. Missing -> []."""
    try:
        with os.scandir(path) as entries:
            return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    except OSError:  # missing, not a directory, name too long...
        return []


def _is_hour(name):
    try:
        parse_hour(name)
        return True
    except ValueError:
        return False

