"""Command line entry point: follow one stream until told to stop."""

import argparse
import logging
import math
import os
import re
import sys

import gevent
from common.http_client import InstrumentedSession
from common.service import HelpFormatter, add_common_args, die, setup_logging, start_daemon

from . import twitch
from .manager import StreamManager
from .sources import HLSSource, TwitchSource

log = logging.getLogger("downloader")

DESCRIPTION = """\
Follow a live HLS stream and write every segment of every wanted variant into the archive
(BASE/STREAM/VARIANT/HOUR/...), atomically, hashed, typed full/partial/suspect.

  python -m downloader CHANNEL                  a Twitch channel (stream name = channel)
  python -m downloader --stream NAME URL        any HLS URL: a master playlist (the variants
                                                of --qualities) or one media playlist

HLS as real servers publish it (RFC 8216; docs/design.md, "Streams as real HLS servers
publish them"):
  - no EXT-X-PROGRAM-DATE-TIME: segments are timed by this machine's clock when the first
    playlist is read, then by EXTINF; give the other nodes' restreamers with --peer so that
    every node names the same bytes alike (backfill and cross-node cuts depend on it)
  - EXT-X-BYTERANGE: each range is fetched with an HTTP Range request and stored as a segment
  - EXT-X-KEY METHOD=AES-128: the key is fetched once per key URI and the clear segment stored;
    a method or key it cannot use (SAMPLE-AES, a key that 404s) records nothing, logs the reason
    at most once a minute and counts it in downloader_unrecordable_segments_total
  - separate audio (EXT-X-MEDIA TYPE=AUDIO with a URI): each rendition a chosen variant plays
    with is recorded too, as variant audio-LANGUAGE (or after its NAME; --qualities need not
    list it)
  - EXT-X-GAP segments are not fetched; low-latency parts, preload hints and Twitch's prefetch
    lines are ignored for the full segments; subtitles renditions are not recorded

Offline streams (404, no Twitch token) are polled until they go live; the process only exits on
SIGTERM/SIGINT, after in-flight segments finish."""

SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
TWITCH_LOGIN = re.compile(r"^[A-Za-z0-9_]{1,25}$")


def seconds(text):
    """A positive, finite number of seconds (0, a negative age or NaN would make the manager
    spin or never mark anything suspect)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"want a positive number of seconds, not {text!r}")
    return value


def peer_url(text):
    if not re.match(r"^https?://[^/\s]+", text):
        raise argparse.ArgumentTypeError(f"want a restreamer URL (http://host:port), not {text!r}")
    return text.rstrip("/")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m downloader", description=DESCRIPTION,
        formatter_class=HelpFormatter)
    parser.add_argument("target", metavar="CHANNEL_OR_URL",
        help="Twitch channel name; or, with --stream, the HLS URL to follow")
    parser.add_argument("--stream", metavar="NAME",
        help="follow the HLS URL given as the argument, storing it as stream NAME")
    parser.add_argument("--base-dir", required=True, help="archive root directory")
    parser.add_argument("--qualities", default="source",
        help="comma-separated variant names to capture (e.g. source,480p), or 'all'; the"
             " separate audio renditions they play with come along")
    parser.add_argument("--variant", default="source",
        help="variant name for a URL that is a single media playlist")
    parser.add_argument("--suspect-after", type=seconds, default=59,
        help="seconds after which a still-running segment download is stored as suspect"
             " (the origin cuts slow responses short at 60 s)")
    parser.add_argument("--retry-deadline", type=seconds, default=20 * 60,
        help="seconds to keep retrying a failing segment")
    parser.add_argument("--twitch-auth-file",
        help="file holding a Twitch user OAuth token (sent as 'Authorization: OAuth ...')")
    parser.add_argument("--twitch-gql-url", default=twitch.GQL_URL, help="Twitch GQL endpoint")
    parser.add_argument("--twitch-usher-url", default=twitch.USHER_URL,
        help="Twitch usher base URL")
    parser.add_argument("--important", action="store_true",
        help="poll an offline stream every 5 s instead of every 20 s")
    parser.add_argument("--offline-poll-interval", type=seconds,
        help="seconds between master playlist polls while offline (default 20, 5 if --important)")
    parser.add_argument("--master-max-age", type=seconds,
        help="seconds before the master playlist (and its variant URLs) is refreshed"
             " (default 20 hours)")
    parser.add_argument("--stop-timeout", type=seconds, default=15,
        help="seconds to let in-flight segments finish on SIGTERM")
    parser.add_argument("--peer", metavar="URL", action="append", default=[], type=peer_url,
        help="another node's restreamer (repeatable; the backfiller's peers). A stream without"
             " program date times is timed by the clock; its timeline is taken from a copy a"
             " peer already holds, so every node gives the same bytes the same name")
    add_common_args(parser, metrics_port=8001)
    return parser


def check_args(parser, args):
    """Return (stream name, qualities list) or exit with a one-line error."""
    if args.stream is not None:
        if not SAFE_NAME.match(args.stream):
            die(f"bad --stream {args.stream!r}: use letters, digits, _ . - (not starting with .)")
        if not re.match(r"^https?://", args.target):
            die(f"with --stream, the argument must be an http(s) URL, not {args.target!r}")
        stream = args.stream
    else:
        if not TWITCH_LOGIN.match(args.target):
            die(f"bad Twitch channel name {args.target!r} (for an HLS URL use --stream NAME URL)")
        stream = args.target.lower()
    qualities = [q.strip() for q in args.qualities.split(",") if q.strip()]
    if not qualities:
        die("--qualities is empty")
    for name in qualities + [args.variant]:
        if not SAFE_NAME.match(name):
            die(f"bad variant name {name!r}")
    return stream, qualities


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    stream, qualities = check_args(parser, args)
    setup_logging("downloader", args.log_level)
    try:
        os.makedirs(args.base_dir, exist_ok=True)
    except OSError as e:
        die(f"cannot create --base-dir {args.base_dir}: {e}")
    oauth = None
    if args.twitch_auth_file:
        try:
            oauth = twitch.read_auth_file(args.twitch_auth_file)
        except (OSError, ValueError) as e:
            die(f"--twitch-auth-file: {e}")

    session = InstrumentedSession("downloader")
    session.headers["User-Agent"] = "archive-downloader/0.1"
    if args.stream is not None:
        source = HLSSource(session, args.target, single_variant=args.variant)
    else:
        source = TwitchSource(session, stream, args.twitch_gql_url, args.twitch_usher_url, oauth)
    offline_interval = args.offline_poll_interval or (5 if args.important else 20)
    manager = StreamManager(stream, source, qualities, args.base_dir, session=session,
        suspect_after=args.suspect_after, retry_deadline=args.retry_deadline,
        offline_poll_interval=offline_interval, master_max_age=args.master_max_age,
        stop_timeout=args.stop_timeout, peers=args.peer)

    stop = start_daemon(args)
    runner = gevent.spawn(manager.run)
    stop.wait()
    manager.stop()
    runner.kill()
    log.info("stopped")
    logging.shutdown()
    sys.exit(0)
