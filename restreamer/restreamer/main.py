"""python -m restreamer: serve the segment archive over HTTP (playlists, segments, cuts)."""

import logging
import os

from common.service import (HelpFormatter, OneLineErrorParser, die, duration, port_number,
                            positive_int, setup_logging, stop_event_on_signals)

log = logging.getLogger("restreamer")

DRAIN_SECONDS = 10


def parse_args(argv=None):
    parser = OneLineErrorParser(
        prog="python -m restreamer", formatter_class=HelpFormatter,
        description="Serve the segment archive over HTTP: JSON listings and segment files for "
                    "peers' backfillers, HLS playlists for any time range (live or fixed), "
                    "cuts as MPEG-TS or MP4, the coverage maps, and Prometheus /metrics.",
        epilog="Durations take a unit: 30s, 90m, 6h, 7d. Routes: see restreamer/README.md.")
    parser.add_argument("--base-dir", required=True,
                        help="segments directory (BASE/STREAM/VARIANT/HOUR/FILE.ts)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="port for the HTTP API, which also serves /metrics (0: any free "
                             "port, logged at start-up)")
    parser.add_argument("--max-cut-duration", type=duration, default="6h",
                        help="longest range a /cut request may ask for")
    parser.add_argument("--max-playlist-duration", type=duration, default="7d",
                        help="longest range a playlist request may ask for")
    parser.add_argument("--max-concurrent-full-cuts", type=positive_int,
                        default=os.cpu_count() or 1,
                        help="full (re-encoding) cuts allowed at once; more get 429")
    # Like common.service.add_common_args, minus --metrics-port: /metrics is on --port.
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity")
    parser.add_argument("--profile", action="store_true",
                        help="sample stacks and export them as a flamegraph metric on /metrics")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    setup_logging("restreamer", args.log_level)
    if not os.path.isdir(args.base_dir):
        die(f"--base-dir {args.base_dir} is not a directory")
    from common.stats import install_profiler_if_requested
    install_profiler_if_requested(args)

    from .app import Config, create_app
    from common.http_server import make_server

    config = Config(args.base_dir, args.max_cut_duration, args.max_playlist_duration,
                    args.max_concurrent_full_cuts)
    server = make_server(create_app(config), args.host, args.port, service="restreamer")
    stop = stop_event_on_signals()
    try:
        server.start()
    except OSError as e:
        die(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    log.info("serving %s on http://%s:%d/", config.base_dir, args.host, server.server_port)
    stop.wait()
    log.info("stopping: waiting up to %ds for %d request(s) in flight", DRAIN_SECONDS,
             server.in_flight())
    server.drain(DRAIN_SECONDS)
    log.info("stopped")
