"""Fault soak: two whole nodes record one origin under a seeded schedule of crashes, hangs and
outages; at the end, one line per invariant with its figure, exit status 1 if any fails.

    bench/soak.py [--minutes 15] [--seed N] [--players-per-node 2] [--keep]

Runs as root (it mounts a tmpfs as node b's segment directory, to fill it). Everything
it starts (a private Postgres cluster, the origin, both nodes' services) is stopped and the
mount undone when it ends, fails, or gets Ctrl-C / SIGTERM. Work files are under a temporary
directory, removed at the end unless --keep or a failure (the logs are then kept there).
Node a uses the default ports + 700 (8700-8705), node b + 710 (8710-8714), the origin 8720.
"""

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import psycopg2  # noqa: E402
import requests  # noqa: E402

from common.segment_files import hash_file  # noqa: E402
from soaklib import faults as faultlib, invariants, resources  # noqa: E402
from soaklib.load import Player, Submitter  # noqa: E402
from soaklib.nodes import FAULTABLE, PORTS, STREAM, Cluster, Node  # noqa: E402
from soaklib.origin import DOWN, NORMAL, TRUNCATE, SoakOrigin  # noqa: E402

OFFSETS = {"a": 700, "b": 710}
ORIGIN_PORT = 8010 + 710  # the demo origin port of node b, which records this one
TMPFS_SIZE = "8g"         # node b's segments; RAM is used only for what is stored
# A segment listed at most this long outside the origin's outage counts as listed during it: the
# 60-minute run met one that left the playlist 0.03 s after the outage ended (a client polling
# every second, as the downloader does while a playlist fails, cannot be expected to have it).
OUTAGE_MARGIN = 1.0
SAMPLE_EVERY = 30         # seconds between resource samples
JUDGE_AFTER = 10 * 60     # a process's first sample judged: 10 minutes after it started
JUDGE_MIN_LIFE = 20 * 60  # and only if it lived at least this long


class Stop(Exception):
    """SIGTERM or SIGINT: stop everything."""


def say(text):
    stamp = datetime.now(timezone.utc).strftime("%H:%M:%S")
    print(f"[{stamp}] {text}", flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="bench/soak.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=15,
                        help="minutes of load and faults (then up to --settle for backfill)")
    parser.add_argument("--seed", type=int, help="fault schedule seed (default: random, printed)")
    parser.add_argument("--players-per-node", type=int, default=2,
                        help="HLS players polling each restreamer's live playlist")
    parser.add_argument("--settle", type=float, default=6,
                        help="minutes to wait at the end for backfill and the cutters to finish")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.minutes < 3:
        parser.error("--minutes must be at least 3 (every fault must fit)")
    if args.seed is None:
        args.seed = random.randrange(1, 10 ** 6)
    return args


class Tmpfs:
    """A tmpfs at `path` whose size can be shrunk to what it holds (full) and grown back."""

    def __init__(self, path):
        self.path = path
        self.mounted = False

    def mount(self):
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "soak", self.path],
                       check=True)
        self.mounted = True

    def fill(self):
        """No space left: the size becomes what is used (tmpfs counts whole pages)."""
        st = os.statvfs(self.path)
        used_kib = (st.f_blocks - st.f_bfree) * st.f_frsize // 1024 + 4
        self._remount(f"{used_kib}k")

    def free(self):
        self._remount(TMPFS_SIZE)

    def _remount(self, size):
        subprocess.run(["mount", "-o", f"remount,size={size}", self.path], check=True)

    def unmount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], check=False)
            self.mounted = False


class Soak:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.stopping = threading.Event()
        self.failures = []     # problems seen during the run (a fault that could not be done)
        self.fault_log = []    # (seconds after start, description)
        self.down_windows = []  # (epoch start, epoch end) of origin outages
        self.samples = {}      # (node, service, pid) -> [(epoch, rss KiB, series)]
        self.nodes = {}
        self._variant_names = {}
        self.kills = Counter()  # (node, service) -> SIGKILLs sent
        self.fault_threads = []
        self.t0 = None

    # --- start-up ---------------------------------------------------------------------------

    def start(self, stack):
        self.cluster = Cluster(os.path.join(self.work, "postgres")).start()
        stack.callback(self.cluster.stop)
        dsn = self.cluster.dsn()
        say(f"postgres on 127.0.0.1:{self.cluster.port}")
        self.origin = SoakOrigin(os.path.join(self.work, "origin"), ORIGIN_PORT,
                                 os.path.join(self.work, "origin-published.jsonl")).start()
        stack.callback(self.origin.stop)
        self.wait_origin()
        segments_b = os.path.join(self.work, "b", "segments")
        os.makedirs(segments_b)
        self.disk = Tmpfs(segments_b)
        self.disk.mount()
        stack.callback(self.disk.unmount)
        urls = {n: f"http://127.0.0.1:{8000 + off}" for n, off in OFFSETS.items()}
        for name, offset in OFFSETS.items():
            peers = [url for other, url in urls.items() if other != name]
            node = Node(name, os.path.join(self.work, name), offset, self.origin.url, peers,
                        dsn, editor=(name == "a"))
            self.nodes[name] = node
            stack.callback(node.stop)
            node.start()
        # Unwound first: a fault under way finishes (a paused service resumes, the disk is freed,
        # Postgres is back) before the nodes, the mount and the cluster are stopped.
        stack.callback(self.join_faults)
        for node in self.nodes.values():
            if not node.wait_ready():
                raise RuntimeError(f"node {node.name}'s restreamer did not start; see "
                                   f"{node.plan.path('logs')}")
        self.variants = self.wait_variants()
        names = self.variant_names()
        say("both nodes recording: " + ", ".join(f"{n} (origin {v})" for n, v in names.items()))

    def wait_origin(self, timeout=30):
        """Until the origin published a segment of each variant (a downloader that finds the
        stream offline polls again only 20 s later)."""
        deadline = time.monotonic() + timeout
        while len({s.variant for s in self.origin.segments()}) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the origin published nothing within {timeout} s "
                                   f"(ffmpeg: {' '.join(self.origin.command)})")
            self.wait(0.5)

    def wait_variants(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [self.node_variants(n) for n in self.nodes.values()]
            if all(len(v) >= 2 for v in found) and found[0] == found[1]:
                return found[0]
            self.wait(1)
        raise RuntimeError("the nodes did not record both variants within "
                           f"{timeout} s; see their downloader logs")

    def node_variants(self, node):
        try:
            return sorted(os.listdir(os.path.join(node.plan.segments_dir, STREAM)))
        except OSError:
            return []

    def wait(self, seconds):
        if self.stopping.wait(seconds):
            raise Stop()

    # --- load and faults --------------------------------------------------------------------

    def run(self):
        small = next(n for n, v in self.variant_names().items() if v == "v1")  # cheap cuts
        self.players = [
            Player(f"player-{node.name}-{i}",
                   f"{node.restreamer_url}/playlist/{STREAM}/{self.variants[i % 2]}.m3u8",
                   self.stopping)
            for node in self.nodes.values() for i in range(self.args.players_per_node)]
        # Its own stop: the players go on while backfill settles, the submissions do not.
        self.submitter = Submitter(self.nodes["a"].editor_url, STREAM, small,
                                   f"{self.args.seed}", threading.Event())
        for thread in self.players + [self.submitter]:
            thread.start()
        seconds = self.args.minutes * 60
        schedule = faultlib.schedule(self.args.seed, seconds)
        say(f"seed {self.args.seed}: {len(schedule)} faults over {self.args.minutes:g} min")
        self.t0 = time.time()
        threads, pending, next_sample = self.fault_threads, list(schedule), 0
        while time.time() - self.t0 < seconds:
            now = time.time() - self.t0
            while pending and pending[0].at <= now:
                fault = pending.pop(0)
                thread = threading.Thread(target=self.do_fault, args=(fault,), daemon=True)
                thread.start()
                threads.append(thread)
            if now >= next_sample:
                self.sample()
                next_sample += SAMPLE_EVERY
            for node in self.nodes.values():
                if node.fatal():
                    raise RuntimeError(f"node {node.name}: {node.fatal()}")
            self.wait(1)
        self.load_end = time.time()
        self.sample()
        self.join_faults()
        self.submitter.stopping.set()
        self.submitter.join(timeout=30)

    def join_faults(self):
        for thread in self.fault_threads:
            thread.join(timeout=60)

    def do_fault(self, fault):
        text = fault.describe()
        say(f"fault: {text}")
        self.fault_log.append((round(time.time() - self.t0), text))
        try:
            getattr(self, "fault_" + fault.kind)(fault)
        except Stop:
            pass
        except Exception as e:  # the soak must report it, not die with the nodes running
            self.failures.append(f"fault {text} could not be done: {e}")

    def fault_kill(self, fault):
        node = self.nodes[fault.node]
        if fault.service == "cutter":
            cutting = self.wait_for_cut(node, fault.duration)
            say(f"cutter@{node.name} killed " + ("mid-cut" if cutting else
                                                 f"idle (no cut within {fault.duration:g} s)"))
        self.kills[(node.name, fault.service)] += 1
        if node.kill(fault.service) is None:
            self.failures.append(f"{fault.service}@{node.name} was not running to be killed")

    def wait_for_cut(self, node, timeout):
        """Until the node's cutter holds an event mid-cut (or timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with psycopg2.connect(self.nodes["a"].dsn, connect_timeout=3) as conn, \
                        conn.cursor() as cur:
                    cur.execute("SELECT count(*) FROM events WHERE uploader = %s AND state IN "
                                "('CLAIMED', 'FINALIZING')", (node.name,))
                    if cur.fetchone()[0]:
                        return True
            except psycopg2.Error:
                pass
            self.wait(0.2)
        return False

    def fault_hang(self, fault):
        node = self.nodes[fault.node]
        node.pause(fault.service, True)
        try:
            self.wait(fault.duration)
        finally:
            node.pause(fault.service, False)

    def fault_origin_down(self, fault):
        start = time.time()
        self.origin.set_mode(DOWN)
        try:
            self.wait(fault.duration)
        finally:
            self.origin.set_mode(NORMAL)
            self.down_windows.append((start, time.time()))

    def fault_origin_truncate(self, fault):
        self.origin.set_mode(TRUNCATE)
        try:
            self.wait(fault.duration)
        finally:
            self.origin.set_mode(NORMAL)

    def fault_postgres(self, fault):
        self.cluster.stop()
        self.wait(fault.duration)
        self.cluster.start()

    def fault_disk_full(self, fault):
        self.disk.fill()
        try:
            self.wait(fault.duration)
        finally:
            self.disk.free()

    def sample(self):
        now = time.time()
        for node in self.nodes.values():
            for service in FAULTABLE:
                pid = node.pid(service)
                if pid is None:
                    continue
                rss = resources.rss_kib(pid)
                series = resources.metric_series(node.metrics_url(service))
                self.samples.setdefault((node.name, service, pid), []).append(
                    (now, rss, series))

    # --- the end ----------------------------------------------------------------------------

    def excluded(self, segment):
        """Listed by the origin only while it was unreachable, give or take OUTAGE_MARGIN:
        nobody could have it."""
        return any(start - OUTAGE_MARGIN <= segment.appeared and segment.left is not None
                   and segment.left <= end + OUTAGE_MARGIN for start, end in self.down_windows)

    def checked_segments(self):
        first = datetime.fromtimestamp(self.t0, timezone.utc).replace(tzinfo=None)
        last = datetime.fromtimestamp(self.load_end, timezone.utc).replace(tzinfo=None)
        return [s for s in self.origin.segments() if first <= s.start and s.end <= last]

    def node_segments(self, node, names):
        by_variant = {}
        for segment in invariants.segment_files(node.plan.segments_dir, STREAM):
            origin_variant = names.get(segment.variant)
            by_variant.setdefault(origin_variant, []).append(segment)
        return by_variant

    def variant_names(self, timeout=60):
        """node variant name -> origin variant directory: the one whose file of the same
        segment has the same bytes."""
        if self._variant_names:
            return self._variant_names
        node = self.nodes["a"]
        deadline = time.monotonic() + timeout
        while len(self._variant_names) < len(self.variants):
            by_start = {(s.variant, s.start): s for s in self.origin.segments()}
            for segment in invariants.segment_files(node.plan.segments_dir, STREAM):
                if segment.type != "full" or segment.variant in self._variant_names:
                    continue
                for origin_variant in ("v0", "v1"):
                    published = by_start.get((origin_variant, segment.start))
                    path = published and os.path.join(self.origin.directory, origin_variant,
                                                      f"seg{published.seq}.ts")
                    if path and os.path.exists(path) and hash_file(path) == segment.hash:
                        self._variant_names[segment.variant] = origin_variant
            if time.monotonic() > deadline:
                raise RuntimeError("cannot tell which origin variant each recorded variant is")
            self.wait(1)
        return self._variant_names

    def missing(self):
        names, published = self.variant_names(), self.checked_segments()
        return {n: invariants.missing_seconds(published, self.node_segments(node, names),
                                              self.excluded)
                for n, node in self.nodes.items()}

    def settle(self):
        """Wait for backfill to fill every hole and every event to end, up to --settle."""
        deadline = time.monotonic() + self.args.settle * 60
        while True:
            missing = self.missing()
            states = self.events()
            open_events = [i for i, (s, e, _t) in states.items() if s != "DONE" and not e]
            done = all(m[0] == 0 for m in missing.values()) and not open_events
            if done or time.monotonic() > deadline:
                return missing, states
            say("settling: missing " + ", ".join(f"{n} {m[0]:.1f} s" for n, m in
                                                 missing.items())
                + f"; {len(open_events)} events not finished")
            self.wait(15)

    def events(self):
        try:
            with psycopg2.connect(self.nodes["a"].dsn, connect_timeout=5) as conn:
                return invariants.event_states(conn, self.submitter.submitted)
        except psycopg2.Error as e:
            self.failures.append(f"cannot read the events: {e}")
            return {}

    def report(self, missing, states):
        """Print one line per invariant; returns True if all hold."""
        lines = []

        def check(name, ok, figure):
            lines.append(ok)
            print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure}", flush=True)

        checked = self.checked_segments()
        excluded = sum(1 for s in checked if self.excluded(s))
        print(f"--- soak summary: seed {self.args.seed}, {self.args.minutes:g} min of load "
              f"and faults, {len(self.fault_log)} faults, {len(checked)} origin segments "
              f"checked ({excluded} listed only during the origin's outage, excluded)")
        for name, (seconds, holes) in missing.items():
            worst = ", ".join(f"{v} {s:%H:%M:%S} {d:.1f}s" for v, s, d in holes[:3])
            check(f"seconds of the origin's timeline missing on node {name}", seconds == 0,
                  f"{seconds:.1f}" + (f" (worst: {worst})" if worst else ""))
        all_segments = [s for node in self.nodes.values()
                        for s in invariants.segment_files(node.plan.segments_dir, STREAM)]
        bad, temps = invariants.bad_files(all_segments)
        check("files whose bytes do not match the hash in their name", not bad,
              f"{len(bad)} of {len(all_segments)}" + (f" (e.g. {bad[0]})" if bad else ""))
        check("segment temp files left", not temps,
              f"{len(temps)}" + (f" (e.g. {temps[0]})" if temps else ""))
        titles, leftovers = invariants.uploads(
            [n.plan.path("uploads") for n in self.nodes.values()])
        check("temporary upload files left", not leftovers,
              f"{len(leftovers)}" + (f" (e.g. {leftovers[0]})" if leftovers else ""))
        twice, lost, stuck, errored = invariants.judge_events(states, titles)
        done = sum(1 for s, _e, _t in states.values() if s == "DONE")
        check("events submitted", len(states) > 0 and len(states) == len(
            self.submitter.submitted), f"{len(self.submitter.submitted)} "
            f"({done} DONE)")
        print(f"INFO  submissions the editor refused: {len(self.submitter.refused)}"
              + "".join(f"\n        {r}" for r in self.submitter.refused[:5]))
        check("events uploaded more than once", not twice, f"{len(twice)}")
        check("events DONE without an uploaded video", not lost, f"{len(lost)}")
        check("events neither DONE nor holding an error", not stuck, f"{len(stuck)}")
        print(f"INFO  events holding an error: {len(errored)}"
              + "".join(f"\n        {i}: {e}" for i, e in list(errored.items())[:5]))
        errors_5xx = [e for p in self.players for e in p.errors_5xx]
        reloads = sum(p.reloads for p in self.players)
        check("HTTP 5xx answered to the players", not errors_5xx,
              f"{len(errors_5xx)} of {reloads} reloads and "
              f"{sum(p.segments for p in self.players)} segment fetches"
              + (f" (e.g. {errors_5xx[0]})" if errors_5xx else ""))
        problems = [e for p in self.players for e in p.problems]
        check("playlist reloads that went back or changed a listed segment", not problems,
              f"{len(problems)}" + "".join(f"\n        {p}" for p in problems[:5]))
        print(f"INFO  player requests that found no restreamer (restarts, hangs): "
              f"{sum(p.unreachable for p in self.players)}")
        unexpected = self.unexpected_exits()
        check("service exits the soak did not cause (crashes, crash loops)", not unexpected,
              f"{sum(unexpected.values())}" + "".join(f"\n        {k}: {v}"
                                                      for k, v in unexpected.items()))
        for line, ok in self.growth_lines():
            check(*line) if ok is not None else print(f"INFO  {line[0]}: {line[2]}")
        for failure in self.failures:
            check("the run itself", False, failure)
        print(f"INFO  origin: {self.origin.truncated} segment bodies truncated, ffmpeg "
              f"restarted {self.origin.ffmpeg_restarts} times")
        print("INFO  faults: " + "; ".join(f"{t}s {d}" for t, d in self.fault_log))
        return all(lines)

    def unexpected_exits(self):
        """{service@node: exits beyond the kills} from the supervisors' output."""
        out = {}
        for node in self.nodes.values():
            exits = Counter()
            with open(node.plan.path("logs", "supervisor-output.log"), errors="replace") as f:
                for line in f:
                    name, _, text = line.partition("|")
                    if text.strip().startswith("exited with code"):
                        exits[name.strip()] += 1
            for service, count in exits.items():
                killed = self.kills[(node.name, service)]
                if count > killed:
                    out[f"{service}@{node.name}"] = count - killed
        return out

    def growth_lines(self):
        """((name, ok, figure), ok or None) per service and measure, judged on the longest
        lived process of each service: its sample 10 minutes after its first, and its last."""
        out = []
        for node in self.nodes:
            for service in FAULTABLE:
                runs = [v for (n, s, _pid), v in self.samples.items()
                        if n == node and s == service]
                if not runs:
                    continue
                life = max(runs, key=lambda v: v[-1][0] - v[0][0])
                first = next((x for x in life if x[0] - life[0][0] >= JUDGE_AFTER), None)
                last = life[-1]
                lived = last[0] - life[0][0]
                name = f"{service}@{node}"
                if first is None or lived < JUDGE_MIN_LIFE:
                    out.append(((f"{name} RSS / metric series", None,
                                 f"RSS {life[0][1]} -> {last[1]} KiB, series {life[0][2]} -> "
                                 f"{last[2]} over {lived / 60:.0f} min (not judged: the "
                                 f"process lived less than {JUDGE_MIN_LIFE // 60} min)"), None))
                    continue
                ratio, ok = resources.growth(first[1], last[1])
                out.append(((f"{name} RSS at minute 10 -> end (flat within 20 %)", ok,
                             f"{first[1]} -> {last[1]} KiB (x{ratio:.2f}) over "
                             f"{lived / 60:.0f} min"), ok))
                sratio, sok = resources.growth(first[2], last[2])
                out.append(((f"{name} metric series at minute 10 -> end (flat within 20 %)", sok,
                             f"{first[2]} -> {last[2]}"), sok))
        return out


def busy_ports():
    ports = [ORIGIN_PORT] + [port + offset for offset in OFFSETS.values()
                             for port in PORTS.values() if port != PORTS["demo_origin"]]
    busy = []
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    return busy


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench/soak.py: error: run as root (it mounts a tmpfs to fill a node's disk)",
              file=sys.stderr)
        return 2
    busy = busy_ports()
    if busy:
        print(f"bench/soak.py: error: ports in use: {', '.join(map(str, busy))} (another soak, "
              "or a node on port offset 700/710?)", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="soak-")
    os.chmod(work, 0o755)   # postgres runs as its own user below it

    def stop(signum, frame):
        raise Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    say(f"work directory {work}")
    soak = Soak(args, work)
    ok = False
    try:
        with ExitStack() as stack:
            try:
                soak.start(stack)
                soak.run()
                missing, states = soak.settle()
                soak.stopping.set()
                ok = soak.report(missing, states)
            finally:
                soak.stopping.set()
                if getattr(soak, "submitter", None):
                    soak.submitter.stopping.set()
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the clean-up finish
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                say("stopping everything")
    except Stop:
        say("stopped by a signal")
        return 1
    except (RuntimeError, OSError, ValueError, psycopg2.Error, requests.RequestException,
            subprocess.CalledProcessError) as e:
        say(f"error: {e}")
        return 1
    finally:
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            say(f"logs and data kept in {work}")
    say("all invariants hold" if ok else "some invariants FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
