"""Command line of ./run-local, turned into a Plan: ports, paths, stream and peers."""

import argparse
import os
import re
import socket
from dataclasses import dataclass, field

# Default ports (DESIGN contract); --port-offset N adds N to each.
PORTS = {
    "restreamer": 8000,
    "downloader": 8001,
    "backfiller": 8002,
    "cutter": 8003,
    "segment_coverage": 8004,
    "editor": 8005,
    "demo_origin": 8010,
}

DESCRIPTION = """\
Run one node of the archive on this machine: a stream source, downloader, restreamer,
backfiller, segment_coverage, a cutter uploading into DATA/uploads and the editor (the web
page where you mark moments for the cutter; no sign-in, on 127.0.0.1 only). Logs go to this
terminal (one line per record, prefixed by the service) and to DATA/logs/SERVICE.log.
Ctrl-C (or SIGTERM) stops everything it started.

A second node on the same machine, backfilling from the first:
  ./run-local --data data2 --port-offset 100 --peer http://127.0.0.1:8000
"""

STREAM_HELP = """what to record: 'demo' (default: a built-in live test stream served on
127.0.0.1, works offline), 'twitch:CHANNEL', an HLS playlist URL (http/https), or 'none'
(record nothing, only backfill from --peer). With --peer and no --stream, 'none'."""


@dataclass
class Stream:
    kind: str            # demo | twitch | url | none
    name: str | None     # stream name in the archive (None for 'none')
    url: str | None = None


@dataclass
class Plan:
    data_dir: str
    port_offset: int
    stream: Stream
    peers: list = field(default_factory=list)
    database: str | None = None
    private_database: bool = False
    node_name: str = "local"
    host: str = "127.0.0.1"
    variants: str = "all"
    log_level: str = "INFO"

    def port(self, service):
        return PORTS[service] + self.port_offset

    def path(self, *parts):
        return os.path.join(self.data_dir, *parts)

    @property
    def segments_dir(self):
        return self.path("segments")

    @property
    def restreamer_url(self):
        return f"http://127.0.0.1:{self.port('restreamer')}"

    @property
    def editor_url(self):
        return f"http://127.0.0.1:{self.port('editor')}/"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, as the other usage errors ("run-local: error: ..."), not the usage text.
        raise UsageError(f"{message} (see --help)")


def build_parser():
    parser = _Parser(prog="run-local", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="data", metavar="DIR",
        help="where segments, uploads, logs, config and a private database live "
             "(default ./data)")
    parser.add_argument("--port-offset", type=int, default=0, metavar="N",
        help="add N to every port (restreamer 8000, downloader 8001, backfiller 8002, "
             "cutter 8003, segment_coverage 8004, editor 8005, demo origin 8010)")
    parser.add_argument("--stream", metavar="SOURCE", help=STREAM_HELP)
    parser.add_argument("--stream-name", metavar="NAME",
        help="stream name in the archive for a URL stream (default 'live'; 'demo' for the "
             "demo stream, the channel for Twitch)")
    parser.add_argument("--variants", default="all", metavar="LIST",
        help="variants to record, comma separated (default all)")
    parser.add_argument("--peer", action="append", default=[], metavar="URL",
        help="restreamer URL of another node to backfill from (repeatable)")
    parser.add_argument("--database", metavar="DSN",
        help="Postgres DSN (URI or key=value). Default: database 'archive' on the server at "
             "127.0.0.1:5432 if one answers, else a private cluster under DATA/postgres")
    parser.add_argument("--private-database", action="store_true",
        help="always use (create and start) the private cluster under DATA/postgres, even if "
             "a server answers on 127.0.0.1:5432")
    parser.add_argument("--name", metavar="NODE",
        help="this node's name (default 'local', or 'local-N' with --port-offset N)")
    parser.add_argument("--host", default="127.0.0.1",
        help="address the restreamer and every service's /metrics listen on (default "
             "127.0.0.1: this machine only; 0.0.0.0 to share them)")
    parser.add_argument("--log-level", default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="services' log level")
    return parser


def user_cwd():
    """The directory the user ran ./run-local from (it changes to the checkout)."""
    return os.environ.get("RUN_LOCAL_CWD") or os.getcwd()


class UsageError(Exception):
    pass


def parse_stream(spec, name, peers):
    if spec is None:
        spec = "none" if peers else "demo"
    if spec == "demo":
        return Stream("demo", name or "demo")
    if spec == "none":
        return Stream("none", None)
    if spec.startswith("twitch:"):
        channel = spec[len("twitch:"):]
        if not re.fullmatch(r"[A-Za-z0-9_]{1,25}", channel):
            raise UsageError(f"--stream {spec}: not a Twitch channel name")
        return Stream("twitch", name or channel.lower())
    if re.match(r"https?://", spec):
        return Stream("url", name or "live", spec)
    raise UsageError(f"--stream {spec}: expected demo, none, twitch:CHANNEL or an http(s) URL")


def plan_from_args(argv=None):
    args = build_parser().parse_args(argv)
    if not 0 <= args.port_offset <= 57000:
        raise UsageError("--port-offset must be between 0 and 57000")
    for peer in args.peer:
        if not re.match(r"https?://[^/]+", peer):
            raise UsageError(f"--peer {peer}: expected a URL like http://127.0.0.1:8000")
    if args.stream_name is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*",
                                                         args.stream_name):
        raise UsageError(f"--stream-name {args.stream_name}: letters, digits, _ and - only")
    if args.database and args.private_database:
        raise UsageError("--database and --private-database exclude each other")
    stream = parse_stream(args.stream, args.stream_name, args.peer)
    name = args.name or ("local" if args.port_offset == 0 else f"local-{args.port_offset}")
    return Plan(
        data_dir=os.path.abspath(os.path.join(user_cwd(), args.data)), port_offset=args.port_offset, stream=stream,
        peers=[p.rstrip("/") for p in args.peer], database=args.database,
        private_database=args.private_database, node_name=name,
        host=args.host, variants=args.variants, log_level=args.log_level)


def busy_ports(plan):
    """Ports this plan needs that something already listens on, as (service, port)."""
    busy = []
    for service in PORTS:
        if service == "demo_origin" and plan.stream.kind != "demo":
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", plan.port(service)))
            except OSError:
                busy.append((service, plan.port(service)))
    return busy
