"""Command line of the backfiller."""

import argparse
import logging
import os
import socket
from datetime import timedelta

from common.fs import ensure_directory
from common.service import (HelpFormatter, OneLineErrorParser, add_common_args, die, name_list, non_negative_float,
                            positive_float, positive_int, safe_name, setup_logging,
                            start_daemon)

from . import metrics
from .client import PeerClient, make_session
from .daemon import Backfiller, PeerSources, run_once
from .peers import peer_from_url, read_node_file
from .schedule import parse_start
from .worker import Settings

log = logging.getLogger("backfiller")

DESCRIPTION = """\
Copy the segments this node lacks from other nodes' restreamers, so that every node holds
what any node captured. Each copy is verified against the SHA-256 in its name before it
enters the archive.

Peers come from --node, --node-file and the database's `nodes` table (rows with
backfill_from), merged and re-read every --node-refresh seconds; this node (--localhost) is
left out. Each peer is worked on by its own greenlet: a peer that is down or slow never holds
up the others.

Every --pass-interval seconds each peer's last --recent-hours hours are checked; every
--sweep-interval seconds all its hours inside --start are. Newest hours first.

exit status with --run-once: 0 when every peer was backfilled without error, 1 when some
peer failed (unreachable, failed requests, hash mismatches), 2 for bad arguments.
"""


def stream_name(text):
    if not safe_name(text):
        raise argparse.ArgumentTypeError(f"bad stream name {text!r}")
    return text


def start_arg(text):
    try:
        return parse_start(text)
    except ValueError as e:
        # argparse names the option itself: "argument --start: '...' is neither ...".
        raise argparse.ArgumentTypeError(str(e).removeprefix("--start: ")) from None


# Upper bounds for numbers given on the command line: anything larger is a typo, and would
# overflow datetime arithmetic (a traceback instead of a usage error).
MAX_SECONDS = 10 * 365 * 86400
MAX_HOURS = 100 * 365 * 24


def at_most(kind, limit, unit):
    def parse(text):
        value = kind(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"at most {limit} {unit}: {text!r}")
        return value
    return parse


seconds = at_most(positive_float, MAX_SECONDS, "seconds")
hours = at_most(positive_float, MAX_HOURS, "hours")


def node_url(text):
    try:
        return peer_from_url(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser():
    parser = OneLineErrorParser(prog="python -m backfiller", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    parser.add_argument("--base-dir", required=True,
        help="the local segment archive (BASE/STREAM/VARIANT/HOUR/FILE)")
    parser.add_argument("--stream", action="append", type=stream_name, dest="streams",
        metavar="STREAM",
        help="stream to backfill (repeatable); default: every stream a peer has")
    parser.add_argument("--variants", type=name_list, metavar="A,B",
        help="comma-separated variants to backfill; default: every variant a peer has")
    peers = parser.add_argument_group("peers")
    peers.add_argument("--node", action="append", type=node_url, default=[], dest="nodes",
        metavar="URL", help="base URL of a peer restreamer (repeatable)")
    peers.add_argument("--node-file", metavar="FILE",
        help="file of peers, 'NAME URL' per line, '#' comments; re-read every --node-refresh")
    peers.add_argument("--database", metavar="DSN",
        help="Postgres DSN (libpq URI or key=value) whose `nodes` table lists peers")
    peers.add_argument("--localhost", default=socket.gethostname(),
        help="this node's name, left out of the peer list (also matched against URL hosts)")
    peers.add_argument("--node-refresh", type=seconds, default=300.0, metavar="SECONDS",
        help="how often the peer list is re-read")
    sched = parser.add_argument_group("schedule")
    sched.add_argument("--start", type=start_arg, metavar="HOURS|TIMESTAMP",
        help="backfill nothing before this: a number of hours back, or an ISO 8601 timestamp "
             "(default: everything the peers have)")
    sched.add_argument("--recent-cutoff",
        type=at_most(non_negative_float, MAX_SECONDS, "seconds"), default=120.0,
        metavar="SECONDS", help="leave segments that started less than this long ago to the "
                                "local downloader, which may still be fetching them")
    sched.add_argument("--recent-hours", type=at_most(positive_int, MAX_HOURS, "hours"),
        default=3, metavar="N",
        help="hours (up to and including the current one) checked on every pass")
    sched.add_argument("--pass-interval", type=seconds, default=60.0, metavar="SECONDS",
        help="time between passes over a peer's recent hours (jittered by 10%%)")
    sched.add_argument("--sweep-interval", type=seconds, default=1800.0,
        metavar="SECONDS", help="time between passes over all of a peer's hours")
    sched.add_argument("--run-once", action="store_true",
        help="do one full pass over every peer and exit (status 1 if any peer failed); "
             "serves no metrics")
    sched.add_argument("--delete-older-than", type=hours, metavar="HOURS",
        help="delete local hours that ended more than this many hours ago (and never "
             "backfill them)")
    transfer = parser.add_argument_group("transfers")
    transfer.add_argument("--concurrency", type=positive_int, default=5, metavar="N",
        help="segments downloaded at once from each peer")
    transfer.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
        help="a peer silent for this long (connecting or mid-response) counts as unreachable "
             "until its next pass; any one request is abandoned after 10 times this")
    add_common_args(parser, metrics_port=8002)
    return parser


def settings_from_args(args):
    return Settings(
        base_dir=args.base_dir,
        streams=args.streams,
        variants=args.variants,
        recent_hours=args.recent_hours,
        recent_cutoff=timedelta(seconds=args.recent_cutoff),
        start=args.start,
        delete_older_than=(timedelta(hours=args.delete_older_than)
                           if args.delete_older_than else None),
        sweep_interval=timedelta(seconds=args.sweep_interval),
        concurrency=args.concurrency,
    )


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging("backfiller", args.log_level)
    if not (args.nodes or args.node_file or args.database):
        die("no peers: give --node URL, --node-file FILE and/or --database DSN")
    if args.node_file:
        try:
            read_node_file(args.node_file)
        except (OSError, ValueError) as e:
            die(f"--node-file: {e}")
    if args.database:
        import psycopg2.extensions
        try:
            psycopg2.extensions.parse_dsn(args.database)
        except psycopg2.ProgrammingError as e:
            die(f"--database: bad DSN: {str(e).strip()}")
    if os.path.exists(args.base_dir) and not os.path.isdir(args.base_dir):
        die(f"--base-dir {args.base_dir} is not a directory")
    try:
        ensure_directory(args.base_dir)
    except OSError as e:
        die(f"--base-dir {args.base_dir}: {e.strerror}")
    settings = settings_from_args(args)
    session = make_session(args.concurrency)

    def make_client(peer):
        return PeerClient(peer, session, timeout=args.timeout, deadline=10 * args.timeout)

    sources = PeerSources(args.nodes, args.node_file, args.database, args.localhost)
    if args.run_once:
        return _run_once(settings, sources, make_client)
    return _run_daemon(args, settings, sources, make_client)


def _run_once(settings, sources, make_client):
    try:
        peers = sources.read(strict=True)
    except Exception as e:
        die(f"cannot read the peer list: {str(e).strip().splitlines()[0]}")
    if not peers:
        log.warning("no peers to backfill from (after leaving out this node)")
    results = run_once(settings, peers, make_client)
    failed = [r.peer for r in results if r.failed]
    if failed:
        log.error("backfill incomplete: failures from %s", ", ".join(failed))
        return 1
    return 0


def _run_daemon(args, settings, sources, make_client):
    metrics.export_filesystem(settings.base_dir)
    stop = start_daemon(args)
    backfiller = Backfiller(settings, sources, make_client, args.pass_interval,
                            args.node_refresh)
    log.info("backfilling into %s", settings.base_dir)
    backfiller.run(stop)
    log.info("stopped")
    return 0
