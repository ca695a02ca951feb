"""segment_coverage: find the holes, partials and overlaps of the archive; maps, page, metrics."""

import argparse
import datetime
import logging
import os
import time

from common.dateutil import utcnow
from common.disk_full import DiskFullLog, is_disk_full
from common.fs import atomic_write
from common.service import (HelpFormatter, OneLineErrorParser, add_common_args, die, name_list, positive_float,
                            positive_int, safe_name, setup_logging, start_daemon)

from .coverage_map import render_map
from .metrics import Metrics
from .names import INDEX, map_file, output_dir, summary_file
from .nodes import NodeList
from .page import render_page
from .scan import LIVE_MARGIN, Scanner
from .summary import summary_json

log = logging.getLogger("segment_coverage")

DESCRIPTION = """\
Checks the segment archive of each stream/variant every --check-interval seconds and reports,
per hour, full/suspect/partial/temp/unparseable files, duplicates, the time covered by the best
segments, holes and overlaps (the selection the restreamer and cutter make).

Writes into BASE/.coverage/ (served by the restreamer at /coverage/):
  STREAM-VARIANT.png   coverage map: one row per UTC hour, one pixel per 2 seconds
  STREAM-VARIANT.json  figures per hour for the last --summary-hours hours, and totals
  index.html           every node's maps (--node URLs and the nodes table), reloading itself
('-' and '%' in a name are written %2D and %25, so no two stream/variants share a file)
Metrics (per stream/variant: the current hour, the previous hour and all hours) on /metrics.
Closed hours whose directories have not changed since the last check are not scanned again.
"""


def stream_name(text):
    """A --stream value: one directory of BASE (no '/', no dot-name like '..' or '.coverage')."""
    if not safe_name(text):
        raise argparse.ArgumentTypeError(f"bad stream name {text!r}")
    return text


def parse_args(argv=None):
    parser = OneLineErrorParser(
        prog="python -m segment_coverage", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--base-dir", required=True, help="the segments directory (BASE)")
    parser.add_argument("--stream", action="append", default=[], metavar="S", type=stream_name,
        help="stream to check (repeatable; default: every stream directory in BASE)")
    parser.add_argument("--variants", type=name_list, default=[], metavar="a,b",
        help="variants to check (default: every variant directory of each stream)")
    parser.add_argument("--check-interval", type=positive_float, default=60.0, metavar="SECONDS",
        help="seconds between the starts of two checks (the page reloads as often)")
    parser.add_argument("--node", action="append", default=[], metavar="URL",
        help="base URL of a peer restreamer whose maps the page shows (repeatable)")
    parser.add_argument("--database", metavar="DSN",
        help="Postgres DSN (libpq URI or key=value): also show the nodes of the nodes table")
    parser.add_argument("--localhost", metavar="NAME",
        help="this node's name in the nodes table: its row is not shown as a peer (this node's "
        "maps are always shown first)")
    parser.add_argument("--map-hours", type=positive_int, default=48, metavar="N",
        help="hours shown by each map")
    parser.add_argument("--summary-hours", type=positive_int, default=24, metavar="N",
        help="hours listed in each JSON summary")
    parser.add_argument("--live-margin", type=positive_float, default=LIVE_MARGIN.total_seconds(),
        metavar="SECONDS", help="the newest seconds of the current hour are not judged yet "
        "(their segments are still downloading)")
    parser.add_argument("--run-once", action="store_true",
        help="check once, write the outputs and exit (exit 1 if a stream/variant failed)")
    add_common_args(parser, metrics_port=8004)
    return parser.parse_args(argv)


def _subdirs(path):
    """Names of the subdirectories of path, except dot-names (like .coverage)."""
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    except FileNotFoundError:
        return []


def stream_variants(base_dir, streams, variants):
    """(stream, variant) pairs to check: the given names, or the directories found."""
    pairs = []
    for stream in streams or _subdirs(base_dir):
        found = variants or _subdirs(os.path.join(base_dir, stream))
        if not found and streams:
            log.warning("stream %s has no variant directories in %s", stream, base_dir)
        for variant in found:
            pairs.append((stream, variant))
    return pairs


class Checker:
    """One check: scan every stream/variant, publish metrics, write maps, summaries and page."""

    def __init__(self, args, metrics, nodes, scanner=None):
        self.args = args
        self.metrics = metrics
        self.nodes = nodes
        self.scanner = scanner or Scanner(
            args.base_dir, datetime.timedelta(seconds=args.live_margin))
        self.out = output_dir(args.base_dir)
        self._last_logged = {}
        self._checked = set()
        self.disk_full = DiskFullLog(log)

    def check(self, now=None):
        """Returns (coverages, number of stream/variants or files that failed)."""
        started = time.monotonic()
        now = now or utcnow()
        window = max(self.args.map_hours, self.args.summary_hours)
        coverages, failures = [], 0
        pairs = stream_variants(self.args.base_dir, self.args.stream, self.args.variants)
        for gone in self._checked - set(pairs):
            log.info("%s/%s is gone: no longer checked", *gone)
            self.metrics.forget(*gone)
        self._checked = set(pairs)
        self.scanner.forget_others(pairs)
        for stream, variant in pairs:
            try:
                coverage = self.scanner.scan(stream, variant, now, window, self.args.map_hours)
                self.metrics.publish(coverage)
                self._write_variant(coverage)
            except OSError as e:
                if is_disk_full(e):
                    self.disk_full.failed(f"the coverage of {stream}/{variant} into {self.out}", e)
                else:
                    log.error("checking %s/%s failed: %s", stream, variant, e)
            except Exception:
                log.exception("checking %s/%s failed", stream, variant)
            else:
                coverages.append(coverage)
                self._log_coverage(coverage)
                continue
            self.metrics.check_errors.labels(stream, variant).inc()
            failures += 1
        page = render_page(coverages, self.nodes.get(), now, self.args.check_interval)
        try:
            atomic_write(os.path.join(self.out, INDEX), page)
        except OSError as e:
            if is_disk_full(e):
                self.disk_full.failed(f"the coverage page into {self.out}", e)
            else:
                log.error("cannot write the coverage page: %s", e)
            failures += 1
        else:
            if not failures:
                self.disk_full.succeeded(f"the coverage into {self.out}")
        self.metrics.check_duration.observe(time.monotonic() - started)
        self.metrics.last_check.set_to_current_time()
        return coverages, failures

    def _write_variant(self, coverage):
        stream, variant = coverage.stream, coverage.variant
        rows = [(c.hour, c.pixels) for c in coverage.hours if c.pixels is not None]
        title = (f"{stream}/{variant}: coverage at "
                 f"{coverage.now.isoformat(sep=' ', timespec='seconds')} UTC, 2 s per pixel")
        atomic_write(os.path.join(self.out, map_file(stream, variant)), render_map(title, rows))
        atomic_write(os.path.join(self.out, summary_file(stream, variant)),
                     summary_json(coverage, self.args.summary_hours))

    def _log_coverage(self, coverage):
        """INFO when the previous hour's figures change (a new hour, a backfill), else DEBUG:
        one line a minute per variant would drown the lines that matter."""
        previous = coverage.previous
        figures = previous.figures if previous is not None else None
        text = ("not examined" if figures is None else
                f"{figures.holes} holes ({figures.hole_duration.total_seconds():.1f} s), "
                f"{figures.overlaps} overlaps, {figures.partials_chosen} partials chosen")
        key = (coverage.stream, coverage.variant)
        changed = self._last_logged.get(key) != (previous and previous.hour, text)
        self._last_logged[key] = (previous and previous.hour, text)
        log.log(logging.INFO if changed else logging.DEBUG,
                "%s/%s: %d hours (%d scanned, %d reused); previous hour: %s",
                coverage.stream, coverage.variant, len(coverage.hours), coverage.rescanned,
                coverage.reused, text)


def main(argv=None):
    args = parse_args(argv)
    setup_logging("segment_coverage", args.log_level)
    if not os.path.isdir(args.base_dir):
        die(f"--base-dir {args.base_dir!r} is not a directory")
    try:
        nodes = NodeList(args.node, args.database, args.localhost)
    except Exception as e:
        die(f"cannot use --database: {e}")
    checker = Checker(args, Metrics(), nodes)
    if args.run_once:
        _, failures = checker.check()
        return 1 if failures else 0
    stop = start_daemon(args)
    log.info("checking %s every %.0f s, writing to %s", args.base_dir, args.check_interval,
             checker.out)
    while not stop.is_set():
        started = time.monotonic()
        try:
            checker.check()
        except Exception:
            log.exception("check failed; retrying at the next interval")
        stop.wait(max(0.0, args.check_interval - (time.monotonic() - started)))
    log.info("stopped")
    return 0
