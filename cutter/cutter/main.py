"""python -m cutter: turn EDITED events into uploaded videos (see cutter/README.md)."""

import logging
import os
import socket

from common import database
from common.service import (HelpFormatter, OneLineErrorParser, add_common_args, die, positive_float, setup_logging,
                            start_daemon)
from uploader.backends import ConfigError

from .config import load_config
from .progress import INTERVAL as PROGRESS_INTERVAL
from .worker import Cutter

log = logging.getLogger(__name__)

DESCRIPTION = """\
Claims EDITED events for the upload locations in its config file, checks this node has the
footage, cuts it from the archive and uploads it, walking the event to DONE (or TRANSCODING
while the video host processes it). Several cutters may run on different nodes: each event is
uploaded exactly once. An upload whose outcome is unknown stays FINALIZING for an operator
(see `python -m uploader events reset --help`)."""


def build_parser():
    parser = OneLineErrorParser(prog="python -m cutter", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    parser.add_argument("--name", default=socket.gethostname(),
        help="this cutter's node name: recorded as the events' uploader, matched against "
             "whitelists; must be unique among cutters")
    parser.add_argument("--database", required=True,
        help="Postgres DSN (libpq URI or key=value string)")
    parser.add_argument("--base-dir", required=True, help="the segments archive")
    parser.add_argument("--config", required=True,
        help="JSON file mapping upload locations to backends (see cutter/README.md)")
    parser.add_argument("--poll-interval", type=positive_float, default=10.0,
        help="seconds between looks for new EDITED events when idle")
    parser.add_argument("--watch-interval", type=positive_float, default=2.0,
        help="seconds between checks that a running job's event was not re-edited")
    parser.add_argument("--retry-delay", type=positive_float, default=10.0,
        help="seconds before retrying a failed event (doubles per failure, up to 10 min)")
    parser.add_argument("--progress-interval", type=positive_float, default=PROGRESS_INTERVAL,
        help="seconds between writes of a running job's progress (phase and percent, shown by "
             "`python -m uploader events show` and the editor)")
    parser.add_argument("--tmp-dir", help="where cuts are spooled for backends needing a file "
                                          "(default: the system temp dir)")
    add_common_args(parser, metrics_port=8003)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    setup_logging("cutter", args.log_level)
    if not args.name:
        die("--name must not be empty")
    if not os.path.isdir(args.base_dir):
        die(f"--base-dir {args.base_dir} is not a directory")
    try:
        locations = load_config(args.config)
    except ConfigError as e:
        die(f"bad config: {e}")
    try:
        db = database.DBManager(args.database)
    except ValueError as e:
        die(str(e))
    stop = start_daemon(args)
    log.info("cutter %s starting: locations %s", args.name, ", ".join(sorted(locations)))
    Cutter(args.name, db, args.base_dir, locations, stop, poll_interval=args.poll_interval,
           watch_interval=args.watch_interval, tmp_dir=args.tmp_dir,
           retry_base=args.retry_delay, progress_interval=args.progress_interval).run()
    log.info("cutter %s stopped", args.name)
    return 0
