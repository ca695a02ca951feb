"""scripts/docker-check: the production path, run for real on this machine.

Builds every image with ./build, brings up two nodes with the real docker-compose.yml and two
.env files made from .env.example (node A: Postgres primary; node B: the standby), both
recording a demo origin container, each backfilling from the other; checks what production
relies on, printing each figure; then tears everything down. See docs/production.md.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

from . import archive
from .engine import Engine
from .editor_api import ApiRefused, EditorSession
from .envfile import render_env
from .node import Node, inspect
from .proc import CheckFailed, run, say, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STREAM = "demo"
PROJECT_PREFIX = "dcheck"
# The demo origin's live playlist: 6 segments of 2 s (demo_origin's ffmpeg command).
ORIGIN_WINDOW = timedelta(seconds=12)
HOLE = timedelta(seconds=40)              # longer than the origin's window: a real hole
# Production's defaults but for a pass every 10 s instead of every minute; the recent cutoff
# (120 s: segments younger than that are left to the local downloader) keeps the hole open
# until it has been measured.
BACKFILLER_ARGS = "--pass-interval 10"
STANDIN_IMAGES = ("python:3.11-slim", "postgres:15-bookworm")


def image_packages(name):
    """The packages image `name` installs, as its Dockerfile copies them (COPY PKG /src/PKG;
    the base images: base.Dockerfile). Empty for the postgres image (none of our Python)."""
    path = os.path.join(ROOT, "docker", f"{name.removesuffix('-ffmpeg')}.Dockerfile")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return re.findall(r"^COPY (\w+) /src/\1$", f.read(), re.M)


# Imports every module of the packages named in argv (not __main__, which would run the
# service); prints how many, and whether the demo origin (a development tool, in its own image
# only) is installed.
IMPORT_ALL = """
import importlib, importlib.util, pkgutil, sys
names = []
for package in sys.argv[1:]:
    names.append(package)
    path = importlib.import_module(package).__path__
    names += [m.name for m in pkgutil.walk_packages(path, package + ".")
              if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names), importlib.util.find_spec("demo_origin") is not None)
"""


class Report:
    """Figures in the order they were measured; printed as they come and again at the end."""

    def __init__(self):
        self.lines = []
        self.started = time.monotonic()

    def figure(self, check, text):
        line = f"{check}: {text}"
        self.lines.append(line)
        print(f"  [ok] {line}", flush=True)

    def summary(self, outcome):
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        width = max([len(line) for line in self.lines] + [60])
        print("\n" + "=" * min(width, 100))
        print(f"docker-check {outcome} in {minutes} min {seconds:02d} s")
        for line in self.lines:
            print(f"  {line}")
        print("=" * min(width, 100), flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="scripts/docker-check", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true",
        help="keep the images it built (service images and base-image stand-ins); containers, "
             "networks and volumes are always removed")
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "data", "docker-check"),
        help="where the nodes' .env files, logs and backups go (default: data/docker-check)")
    return parser.parse_args(argv)


def free_port():
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def host_address(client):
    """The host's address on Docker's default bridge: containers of any network reach the
    ports published on it (as nodes reach each other's published ports in production)."""
    out = run(["ip", "-4", "-o", "addr", "show", "docker0"], check=False).stdout
    match = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    if match:
        return match.group(1)
    gateway = run([client, "network", "inspect", "bridge", "--format",
                   "{{range .IPAM.Config}}{{.Gateway}}{{end}}"]).stdout.strip()
    if not gateway:
        raise CheckFailed("cannot tell the host's address on the docker0 bridge")
    return gateway


def utcnow():
    # The suite's own clock (from the .venv; imported late, as --help runs without it).
    from common.dateutil import utcnow as now
    return now()


class Check:
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.work_dir)
        self.report = Report()
        self.engine = Engine(self.work)
        self.built_images = []
        self.nodes = {}
        self.lost = set()               # nodes stopped for good (the promotion check)
        self.extra_projects = []
        self.origin = f"{PROJECT_PREFIX}-origin"

    # --- set-up -----------------------------------------------------------------------------

    @property
    def client(self):
        return self.engine.client

    def docker(self, *args, **kwargs):
        return run([self.client, *args], **kwargs)

    def prepare_engine(self):
        t = time.monotonic()
        self.engine.start()
        v1 = run([*self.engine.compose_v1, "version", "--short"]).stdout.strip()
        v2 = run([*self.engine.compose_v2, "version", "--short"]).stdout.strip()
        server = self.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
        started = "started by the check" if self.engine.dockerd else "already running"
        self.report.figure("engine", f"Docker {server} ({started}, client {self.client}); "
                           f"compose v2 {v2}, docker-compose {v1} "
                           f"({time.monotonic() - t:.0f} s)")

    def base_images(self):
        """The official images our Dockerfiles start FROM, or local stand-ins of them."""
        t = time.monotonic()
        if not shutil.which("debootstrap") and not all(
                self.docker("image", "inspect", i, check=False).returncode == 0
                for i in STANDIN_IMAGES):
            from .engine import apt_install
            apt_install("debootstrap")
        result = run([os.path.join(ROOT, "docker", "standin", "build"), "--print-built",
                      *STANDIN_IMAGES], env=dict(os.environ, DOCKER=self.client),
                     timeout=1800, capture=True)
        built = result.stdout.split()
        self.built_images += built
        standins = [i for i in STANDIN_IMAGES if self.docker(
            "image", "inspect", "--format", '{{index .Config.Labels "archive.standin"}}', i
        ).stdout.strip() == "true"]
        how = (f"built now as local stand-ins: {', '.join(built)}" if built else
               f"present (local stand-ins: {', '.join(standins) or 'none'})")
        self.report.figure("base images", f"{', '.join(STANDIN_IMAGES)} {how} "
                           f"({time.monotonic() - t:.0f} s)")

    def build(self):
        t = time.monotonic()
        env = dict(os.environ, DOCKER=self.client)
        out = run([os.path.join(ROOT, "build")], env=env, timeout=3600).stdout
        out += run([os.path.join(ROOT, "build"), "demo_origin"], env=env, timeout=1800).stdout
        values = dict(re.findall(r"^(IMAGE_PREFIX|IMAGE_TAG)=(\S+)$", out, re.M))
        self.prefix, self.tag = values["IMAGE_PREFIX"], values["IMAGE_TAG"]
        listed = self.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        self.built_images += [i for i in listed if i.startswith(self.prefix + "/")
                              and i.endswith(":" + self.tag)]
        self.report.figure("build", f"./build: {len(self.built_images)} images tagged "
                           f"{self.tag} ({time.monotonic() - t:.0f} s)")

    def image(self, name):
        return f"{self.prefix}/{name}:{self.tag}"

    def remove_leftovers(self):
        """Containers, networks and volumes of an earlier run that did not finish."""
        for project in ("a", "b", "restore"):
            name = f"{PROJECT_PREFIX}-{project}"
            ids = self.docker("ps", "-aq", "--filter",
                              f"label=com.docker.compose.project={name}").stdout.split()
            if ids:
                self.docker("rm", "-f", *ids)
            for kind in ("volume", "network"):
                found = self.docker(kind, "ls", "-q", "--filter",
                                    f"label=com.docker.compose.project={name}").stdout.split()
                if found:
                    self.docker(kind, "rm", *found, check=False)
        self.docker("rm", "-f", self.origin, check=False)

    # --- nodes ------------------------------------------------------------------------------

    def configure(self):
        self.host = host_address(self.client)
        self.origin_port = free_port()
        self.passwords = {k: secrets.token_hex(12) for k in ("su", "app", "repl")}
        self.ports = {n: {k: free_port() for k in ("restreamer", "postgres", "editor",
                                                   "downloader", "backfiller", "cutter",
                                                   "coverage")}
                      for n in ("a", "b")}
        # Node A runs with compose v2, node B with Debian's docker-compose 1.29: both
        # implementations bring up the same file.
        for n, compose in (("a", self.engine.compose_v2), ("b", self.engine.compose_v1)):
            directory = os.path.join(self.work, f"node-{n}")
            self.nodes[n] = Node(f"node-{n}", f"{PROJECT_PREFIX}-{n}", directory, compose,
                                 os.path.join(ROOT, "docker-compose.yml"), self.client)
            self.write_node(n, self.env_values(n))

    def dsn(self, node):
        return (f"postgresql://archive:{self.passwords['app']}@{self.host}:"
                f"{self.ports[node]['postgres']}/archive")

    def restreamer_url(self, node):
        return f"http://{self.host}:{self.ports[node]['restreamer']}"

    def editor_url(self, node):
        return f"http://{self.host}:{self.ports[node]['editor']}"

    def env_values(self, n, dsn_node="a"):
        p = self.ports[n]
        peer = self.restreamer_url("b" if n == "a" else "a")
        return {
            "IMAGE_PREFIX": self.prefix, "IMAGE_TAG": self.tag, "NODE_NAME": f"node-{n}",
            "DOWNLOADER_SOURCE":
                f"--stream {STREAM} http://{self.host}:{self.origin_port}/master.m3u8",
            "VARIANTS": "all",
            # The other node, as .env.example says: its copy times a stream without
            # program date times the same way on both nodes.
            "DOWNLOADER_ARGS": f"--peer {peer}",
            "DATABASE_DSN": self.dsn(dsn_node),
            "COMPOSE_PROFILES": "primary" if n == "a" else "standby",
            "POSTGRES_SUPERUSER_PASSWORD": self.passwords["su"],
            "DB_APP_PASSWORD": self.passwords["app"],
            "DB_REPLICATION_PASSWORD": self.passwords["repl"],
            "DB_PRIMARY_HOST": self.host, "DB_PRIMARY_PORT": self.ports["a"]["postgres"],
            "POSTGRES_BIND": self.host, "POSTGRES_PORT": p["postgres"],
            "RESTREAMER_BIND": self.host, "RESTREAMER_PORT": p["restreamer"],
            "EDITOR_BIND": self.host, "EDITOR_PORT": p["editor"],
            "EDITOR_RESTREAMER_URLS": f"{self.restreamer_url('a')},{self.restreamer_url('b')}",
            "EDITOR_LOCATIONS": "archive",
            "METRICS_BIND": "127.0.0.1",
            "DOWNLOADER_METRICS_PORT": p["downloader"], "BACKFILLER_METRICS_PORT": p["backfiller"],
            "CUTTER_METRICS_PORT": p["cutter"], "SEGMENT_COVERAGE_METRICS_PORT": p["coverage"],
            "BACKFILLER_ARGS": BACKFILLER_ARGS,
        }

    def write_node(self, n, values):
        """The node's directory as docs/production.md lays it out."""
        node = self.nodes[n]
        os.makedirs(node.directory, exist_ok=True)
        with open(os.path.join(ROOT, ".env.example")) as f:
            example = f.read()
        with open(node.env_path, "w") as f:
            f.write(render_env(example, values))
        secrets_dir = os.path.join(node.directory, "secrets")
        os.makedirs(secrets_dir, exist_ok=True)
        os.chown(secrets_dir, 1000, 1000)
        os.chmod(secrets_dir, 0o700)
        shutil.copy(os.path.join(ROOT, "docker", "cutter-config.example.json"),
                    os.path.join(node.directory, "cutter-config.json"))
        seed = os.path.join(node.directory, "postgres-seed")
        os.makedirs(seed, exist_ok=True)
        with open(os.path.join(seed, "nodes.csv"), "w") as f:
            f.write("name,url,backfill_from\n")
            for m in ("a", "b"):
                f.write(f"node-{m},{self.restreamer_url(m)},true\n")

    def validate_compose_file(self):
        """Both compose implementations accept the file with each node's .env."""
        for n, node in self.nodes.items():
            for compose in (self.engine.compose_v2, self.engine.compose_v1):
                Node(node.name, node.project, node.directory, compose, node.compose_file,
                     self.client).run("config", "--quiet")
        self.report.figure("compose file", "docker compose v2 and docker-compose 1.29 accept "
                           "docker-compose.yml with both nodes' .env (config --quiet)")

    def start_origin(self):
        self.docker("run", "-d", "--name", self.origin, "--init",
                    "-p", f"{self.host}:{self.origin_port}:8010", self.image("demo_origin"))
        url = f"http://{self.host}:{self.origin_port}/master.m3u8"
        wait_for("the demo origin's master playlist", lambda: urlopen_ok(url), 120)
        variants = sum(1 for line in http_text(url).splitlines()
                       if line.startswith("#EXT-X-STREAM-INF"))
        self.origin_variants = variants
        return variants

    def up(self, n):
        t = time.monotonic()
        self.nodes[n].run("up", "-d", timeout=900)
        self.wait_healthy(n)
        return time.monotonic() - t

    def wait_healthy(self, n, timeout=300):
        node = self.nodes[n]

        def all_healthy():
            states = {}
            for service, cid in node.containers().items():
                state = inspect(self.client, cid)["State"]
                states[service] = state.get("Health", {}).get("Status", state["Status"])
            bad = {s: v for s, v in states.items() if v != "healthy"}
            if bad:
                raise CheckFailed(f"{node.name}: not healthy: {bad}")
            return states
        return wait_for(f"{node.name}: every container healthy", all_healthy, timeout, 3)

    # --- checks -----------------------------------------------------------------------------

    def check_recording(self):
        t = time.monotonic()

        def recording():
            counts = {}
            for n in self.nodes:
                found = archive.segments(self.restreamer_url(n), STREAM)
                if len(found) < self.origin_variants or not all(
                        len(v) >= 22 for v in found.values()):  # 44 s: the range read below
                    raise CheckFailed(f"node-{n} has {({k: len(v) for k, v in found.items()})}")
                counts[n] = found
            return counts
        counts = wait_for("both nodes record every variant", recording, 240, 3)
        for n, found in counts.items():
            figures = ", ".join(f"{v} {len(s)}" for v, s in sorted(found.items()))
            self.report.figure("recording", f"node-{n}: {len(found)}/{self.origin_variants} "
                               f"variants, segments {figures} (waited "
                               f"{time.monotonic() - t:.0f} s for 44 s on both)")
        # Each restreamer's playlist of 20 s that ended 20 s ago (a range ending within the
        # restreamer's 10 s settling time is served by the live rules, which list only what
        # has settled), read by ffmpeg (from a container of the restreamer image on the host's
        # network, so no ffmpeg is needed on the host).
        for n in self.nodes:
            end = utcnow() - timedelta(seconds=20)
            start = end - timedelta(seconds=20)
            url = (f"{self.restreamer_url(n)}/playlist/{STREAM}.m3u8"
                   f"?start={start:%Y-%m-%dT%H:%M:%S}&end={end:%Y-%m-%dT%H:%M:%S}")
            seconds, streams = self.ffmpeg_read(url)
            if seconds < 15:
                raise CheckFailed(f"ffmpeg read only {seconds:.1f} s from {url}")
            self.report.figure("playlist", f"node-{n}: ffmpeg read {seconds:.1f} s "
                               f"({streams}) from the restreamer's master playlist")

    def ffmpeg_read(self, url):
        result = self.docker("run", "--rm", "--network", "host", "--entrypoint", "ffmpeg",
                             self.image("restreamer"), "-hide_banner", "-nostdin",
                             "-i", url, "-map", "0", "-c", "copy", "-f", "null", "-",
                             timeout=180)
        times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", result.stderr)
        if not times:
            raise CheckFailed(f"ffmpeg printed no progress reading {url}:\n{result.stderr[-800:]}")
        h, m, s = times[-1]
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
        kinds = re.findall(r"Stream #\S+: (Video|Audio): (\w+)", result.stderr)
        streams = ", ".join(sorted({f"{k.lower()} {c}" for k, c in kinds}))
        return seconds, streams

    def uploader(self, n, *args):
        return self.nodes[n].exec("cutter", "python", "-m", "uploader", *args).strip()

    def cut_event(self, n, label):
        """An event created and edited with node n's operator CLI; -> (id, row, seconds to DONE)."""
        end = utcnow() - timedelta(seconds=35)
        start = end - timedelta(seconds=12)
        iso = "%Y-%m-%dT%H:%M:%S"
        event_id = self.uploader(n, "events", "create", "--event-start", start.strftime(iso),
                                 "--description", f"docker-check {label}").split()[-1]
        self.uploader(n, "events", "edit", event_id, "--video-start", start.strftime(iso),
                      "--video-end", end.strftime(iso), "--title", f"docker-check {label}",
                      "--description", "cut by scripts/docker-check", "--stream", STREAM,
                      "--location", "archive")
        return (event_id, *self.wait_done(n, event_id))

    def wait_done(self, n, event_id):
        """(row, seconds) once node n's operator CLI shows the event DONE."""
        t = time.monotonic()

        def done():
            row = json.loads(self.uploader(n, "events", "show", event_id, "--json"))
            if row["state"] != "DONE":
                if row.get("error"):
                    raise CheckFailed(f"event {event_id}: {row['state']}: {row['error']}")
                return None
            return row
        row = wait_for(f"event {event_id} DONE", done, 240, 2)
        return row, time.monotonic() - t

    def uploads(self):
        """{node: [file names]} in each node's uploads volume."""
        return {n: sorted(node.exec("cutter", "ls", "-A", "/mnt/uploads").split())
                for n, node in self.nodes.items() if n not in self.lost}

    def check_event(self):
        event_id, row, seconds = self.cut_event("a", "primary")
        files = self.uploads()
        videos = [f for fs in files.values() for f in fs if not f.endswith(".json")]
        if len(videos) != 1:
            raise CheckFailed(f"want exactly one uploaded video, found {files}")
        standby = wait_for("the standby shows the event DONE", lambda: self.nodes["b"].psql(
            "postgres-standby", f"SELECT state, uploader FROM events WHERE id = '{event_id}'"
        ) == [f"DONE|{row['uploader']}"] and row["uploader"], 60)
        by = [n for n, fs in files.items() if any(not f.endswith(".json") for f in fs)][0]
        self.event_id = event_id
        self.report.figure("cut", f"event created and edited on the primary: DONE in "
                           f"{seconds:.0f} s, cut by {row['uploader']}, exactly 1 video "
                           f"({videos[0]}) in node-{by}'s uploads, link {row['video_link']}")
        self.report.figure("replication", f"the standby (node-b) shows it DONE, uploader "
                           f"{standby}")

    def check_editor(self):
        """An account made with the documented command signs in on both nodes' editors (one
        database); the page's API then lists the recorded stream and the event cut above."""
        name = "dcheck-editor"
        token = self.nodes["a"].exec("editor", "python", "-m", "editor", "users", "add",
                                     name).strip().splitlines()[-1]
        wrong = EditorSession(self.editor_url("a"))
        try:
            wrong.sign_in("not-" + token)
            raise CheckFailed("the editor accepted a wrong login token")
        except ApiRefused as e:
            if e.status != 401:
                raise CheckFailed(f"a wrong login token: want 401, got {e}") from None
            refusal = e
        seen = []
        for n in self.nodes:
            session = EditorSession(self.editor_url(n))
            try:
                who = session.sign_in(token)
                config = session.request("GET", "/api/config")
                events = session.request("GET", "/api/events")["events"]
            except (ApiRefused, OSError) as e:
                raise CheckFailed(f"node-{n}'s editor: {e}") from None
            variants = config["streams"].get(STREAM)
            event = next((e for e in events if e["id"] == self.event_id), None)
            if who["editor"] != name or not variants or not event or event["state"] != "DONE":
                raise CheckFailed(f"node-{n}'s editor: signed in as {who}, streams "
                                  f"{config['streams']}, event {event}")
            seen.append(f"node-{n} signed in as {who['editor']}, stream {STREAM} "
                        f"({len(variants)} variants), the event DONE")
        self.editor_token = token
        self.report.figure("editor", f"`python -m editor users add` printed a login token "
                           f"({len(token)} characters); {'; '.join(seen)}; a wrong token: "
                           f"{refusal.status} ({refusal.body})")

    def check_restart_policy(self):
        """A crashed downloader comes back by the restart policy. Docker counts `docker kill`
        as a deliberate stop, which no restart policy undoes (shown too); a crash is the
        service's process dying of SIGKILL (as the OOM killer does it)."""
        node = self.nodes["a"]
        cid = node.container("downloader")
        self.docker("kill", cid)
        state = inspect(self.client, cid)
        wait_for("the killed downloader stops", lambda: not inspect(
            self.client, cid)["State"]["Running"], 30, 0.5)
        node.run("up", "-d", "downloader")
        wait_for("the downloader runs again after up -d", lambda: inspect(
            self.client, cid)["State"]["Running"], 60, 0.5)
        before = inspect(self.client, cid)
        # The service's process: docker-init's child in the container's process list.
        top = self.docker("top", cid, "-eo", "pid,args").stdout.splitlines()[1:]
        pid = next(int(line.split()[0]) for line in top if "-m downloader" in line)
        os.kill(pid, signal.SIGKILL)
        t = time.monotonic()

        def back():
            now = inspect(self.client, cid)
            return (now["RestartCount"] > before["RestartCount"]
                    and now["State"]["Running"]) and now
        after = wait_for("the crashed downloader restarts", back, 120, 0.5)
        self.report.figure("restart", f"node-a's downloader: `docker kill` is a deliberate stop "
                           f"for Docker (exit {state['State']['ExitCode']}, not restarted by "
                           f"any policy; `up -d` starts it); its process killed with SIGKILL "
                           f"(a crash) -> restarted by policy "
                           f"'{after['HostConfig']['RestartPolicy']['Name']}' in "
                           f"{time.monotonic() - t:.1f} s (restart count "
                           f"{before['RestartCount']} -> {after['RestartCount']})")

    def check_hole_and_backfill(self):
        node = self.nodes["a"]
        node.run("stop", "downloader")
        stopped = utcnow()
        time.sleep(HOLE.total_seconds())   # the outage itself
        node.run("start", "downloader")
        started = utcnow()
        window = (stopped - timedelta(seconds=10), started + timedelta(seconds=10))

        def after_restart():
            found = archive.segments(self.restreamer_url("a"), STREAM)
            return all(v and v[-1].start > window[1] for v in found.values()) and found
        a_before = wait_for("node-a records again", after_restart, 120, 2)
        b = archive.segments(self.restreamer_url("b"), STREAM)
        lines = []
        for variant, segs in sorted(a_before.items()):
            gap_start, gap = archive.longest_gap(segs, *window)
            b_gap = archive.longest_gap(b[variant], *window)[1]
            if gap <= ORIGIN_WINDOW:
                raise CheckFailed(f"node-a's hole in {variant} is only {gap} (want more than "
                                  f"the origin's {ORIGIN_WINDOW} window)")
            if b_gap > timedelta(seconds=3):
                raise CheckFailed(f"node-b also has a {b_gap} gap in {variant}")
            lines.append((variant, gap_start, gap, len(archive.in_range(segs, *window)),
                          len(archive.in_range(b[variant], *window))))
        for variant, gap_start, gap, a_count, b_count in lines:
            self.report.figure("hole", f"node-a's downloader stopped {HOLE.total_seconds():.0f} s "
                               f"(origin window {ORIGIN_WINDOW.total_seconds():.0f} s): {variant} "
                               f"missing {gap.total_seconds():.1f} s from {gap_start:%H:%M:%S}; "
                               f"node-a {a_count} segments there, node-b {b_count}")
        t = time.monotonic()

        def filled():
            found = archive.segments(self.restreamer_url("a"), STREAM)
            gaps = {v: archive.longest_gap(s, *window)[1] for v, s in found.items()}
            if any(g > timedelta(seconds=3) for g in gaps.values()):
                raise CheckFailed(f"longest gaps {gaps}")
            return found
        a_after = wait_for("node-a's backfiller fills the hole from node-b", filled, 300, 3)
        for variant, *_ in lines:
            segs = a_after[variant]
            self.report.figure("backfill", f"{variant}: filled from node-b "
                               f"{time.monotonic() - t:.0f} s after the downloader came back; "
                               f"node-a now {len(archive.in_range(segs, *window))} segments "
                               f"there, longest gap "
                               f"{archive.longest_gap(segs, *window)[1].total_seconds():.1f} s")

    def check_users_and_health(self):
        rows = []
        for n in self.nodes:
            states = self.wait_healthy(n)
            for service, cid in sorted(self.nodes[n].containers().items()):
                uids = self.process_uids(cid)
                if 0 in uids or not uids:
                    raise CheckFailed(f"node-{n} {service} runs a process as root: {uids}")
                rows.append(f"{n}/{service} uid {','.join(map(str, sorted(uids)))}")
            self.report.figure("health", f"node-{n}: {len(states)} containers healthy "
                               f"({', '.join(sorted(states))})")
        origin_uids = self.process_uids(self.origin)
        if 0 in origin_uids:
            raise CheckFailed(f"the demo origin runs a process as root: {origin_uids}")
        origin_health = inspect(self.client, self.origin)["State"]["Health"]["Status"]
        if origin_health != "healthy":
            raise CheckFailed(f"the demo origin's container is {origin_health}")
        self.report.figure("health", "the demo origin's container healthy")
        self.report.figure("non-root", f"every process of every container runs as a non-root "
                           f"user: {'; '.join(rows)}; origin uid "
                           f"{','.join(map(str, sorted(origin_uids)))}")

    def process_uids(self, container):
        # docker top needs the pid column to map processes to the container.
        lines = self.docker("top", container, "-eo", "pid,uid").stdout.splitlines()[1:]
        return {int(line.split()[1]) for line in lines}

    def check_images(self):
        """No build tools in any image; every module of each image's packages imports there
        (a dependency missing from a pyproject, e.g. the downloader's cryptography, shows)."""
        sizes, imported = [], []
        for image in sorted(self.built_images):
            if not image.startswith(self.prefix + "/"):
                continue
            name = image.split("/")[-1].split(":")[0]
            size = int(self.docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
            tools = self.docker("run", "--rm", "--entrypoint", "sh", image, "-c",
                                "for t in gcc cc c++ make; do command -v $t; done; true").stdout
            if tools.strip():
                raise CheckFailed(f"{image} has build tools: {tools.split()}")
            sizes.append(f"{name} {size / 1e6:.0f} MB")
            packages = image_packages(name)
            if packages:
                count, demo = self.docker("run", "--rm", "--entrypoint", "python", image, "-c",
                                          IMPORT_ALL, *packages).stdout.split()
                if (demo == "True") != (name == "demo_origin"):
                    raise CheckFailed(f"{image}: demo_origin installed: {demo}")
                imported.append(f"{name} {count}")
        crypto = self.docker("run", "--rm", "--entrypoint", "python", self.image("downloader"),
                             "-c", "import cryptography, downloader.decrypt; "
                             "print(cryptography.__version__)").stdout.strip()
        self.report.figure("images", "no compiler or make in any image; sizes: "
                           + ", ".join(sizes))
        self.report.figure("imports", "every module of each image's packages imports in it: "
                           + " modules, ".join(imported) + " modules; demo_origin only in "
                           f"its own image; the downloader's AES decryption with cryptography "
                           f"{crypto}")

    def check_backup_restore(self):
        """docs/production.md's backup (pg_dump from the primary) restored into a fresh primary
        (a new node directory with an empty Postgres volume)."""
        a = self.nodes["a"]
        dump = os.path.join(self.work, "archive.dump")
        with open(dump, "wb") as f:
            subprocess.run(a.compose_argv("exec", "-T", "postgres-primary", "pg_dump", "-U",
                                          "postgres", "--format=custom", "archive"),
                           stdout=f, check=True, timeout=300)
        source = a.psql("postgres-primary", "SELECT id, state FROM events ORDER BY id")
        n = "restore"
        self.ports[n] = dict(self.ports["a"], postgres=free_port())
        directory = os.path.join(self.work, "node-restore")
        self.nodes[n] = Node("fresh primary", f"{PROJECT_PREFIX}-restore", directory,
                             self.engine.compose_v2, a.compose_file, self.client)
        self.write_node(n, dict(self.env_values("a"), POSTGRES_PORT=self.ports[n]["postgres"]))
        fresh = self.nodes.pop(n)
        self.extra_projects.append(fresh)
        fresh.run("up", "-d", "postgres-primary")
        wait_for("the fresh primary is healthy", lambda: inspect(
            self.client, fresh.container("postgres-primary"))["State"]["Health"]["Status"]
            == "healthy", 180, 2)
        with open(dump, "rb") as f:
            subprocess.run(fresh.compose_argv(
                "exec", "-T", "postgres-primary", "pg_restore", "-U", "postgres", "--dbname",
                "archive", "--clean", "--if-exists", "--no-owner", "--role", "archive",
                "--single-transaction"), stdin=f, check=True, timeout=300,
                capture_output=True)
        restored = fresh.psql("postgres-primary", "SELECT id, state FROM events ORDER BY id")
        if restored != source or not source:
            raise CheckFailed(f"restored events {restored} differ from the primary's {source}")
        fresh.run("down", "--volumes")
        self.extra_projects.remove(fresh)
        self.report.figure("backup", f"pg_dump of the primary ({os.path.getsize(dump)} bytes) "
                           f"restored into a fresh primary: {len(restored)} of {len(source)} "
                           "events, same ids and states")

    def check_down_up(self):
        before = {n: {v: len(s) for v, s in archive.segments(self.restreamer_url(n),
                                                              STREAM).items()}
                  for n in self.nodes}
        uploads = self.uploads()
        events = self.nodes["a"].psql("postgres-primary", "SELECT count(*) FROM events")
        t = time.monotonic()
        for n in ("b", "a"):
            self.nodes[n].run("down")
        for n in ("a", "b"):
            self.up(n)
        after = {n: {v: len(s) for v, s in archive.segments(self.restreamer_url(n),
                                                             STREAM).items()}
                 for n in self.nodes}
        for n in self.nodes:
            for v, count in before[n].items():
                if after[n].get(v, 0) < count:
                    raise CheckFailed(f"node-{n} {v}: {count} segments before down, "
                                      f"{after[n].get(v, 0)} after up")
        if self.uploads() != uploads:
            raise CheckFailed(f"uploads changed across down/up: {uploads} -> {self.uploads()}")
        events_after = self.nodes["a"].psql("postgres-primary", "SELECT count(*) FROM events")
        standby = wait_for("the standby streams again", lambda: self.nodes["b"].psql(
            "postgres-standby", "SELECT count(*) FROM events") == events_after and
            events_after, 120, 2)
        if events_after != events:
            raise CheckFailed(f"events {events} before down, {events_after} after up")
        self.report.figure("down/up", f"both nodes down and up again in "
                           f"{time.monotonic() - t:.0f} s: segments kept (node-a "
                           f"{sum(before['a'].values())} -> {sum(after['a'].values())}, node-b "
                           f"{sum(before['b'].values())} -> {sum(after['b'].values())}), uploads "
                           f"kept ({sum(len(f) for f in uploads.values())} files), events "
                           f"kept ({events[0]} on the primary, {standby[0]} on the standby)")

    def check_promotion(self):
        """Node A is lost; node B's standby is promoted by docs/production.md's steps."""
        self.nodes["a"].run("stop", timeout=300)
        self.lost.add("a")
        b = self.nodes["b"]
        t = time.monotonic()
        # The documented steps: promote, point DATABASE_DSN at node B, up -d.
        b.exec("postgres-standby", "psql", "-U", "postgres", "-c", "SELECT pg_promote()")
        wait_for("the standby leaves recovery", lambda: b.psql(
            "postgres-standby", "SELECT pg_is_in_recovery()") == ["f"], 60)
        self.write_node("b", self.env_values("b", dsn_node="b"))
        b.run("up", "-d", timeout=600)
        self.wait_healthy("b")
        promoted = time.monotonic() - t
        # A restart of the promoted database (a reboot of node B) keeps it a primary.
        b.run("restart", "postgres-standby")
        wait_for("the promoted database is back", lambda: b.psql(
            "postgres-standby", "SELECT pg_is_in_recovery()") == ["f"], 120, 2)
        self.wait_healthy("b")
        # An editor submits a cut on node B's editor, now against the promoted database.
        session = EditorSession(self.editor_url("b"))
        end = utcnow() - timedelta(seconds=35)
        try:
            who = session.sign_in(self.editor_token)
            event = session.submit_cut(end - timedelta(seconds=12), end, STREAM, "archive",
                                       "docker-check after promotion")
        except (ApiRefused, OSError) as e:
            raise CheckFailed(f"node-b's editor after promotion: {e}") from None
        row, seconds = self.wait_done("b", event["id"])
        recorded = archive.segments(self.restreamer_url("b"), STREAM)
        newest = min(s[-1].start for s in recorded.values())
        if utcnow() - newest > timedelta(seconds=30):
            raise CheckFailed(f"node-b stopped recording: newest segment {newest}")
        self.report.figure("promotion", f"node-a stopped; node-b's standby promoted and node-b "
                           f"pointed at it and healthy in {promoted:.0f} s (still a primary "
                           f"after a restart); {who['editor']} signed in on node-b's editor "
                           f"and submitted a cut there ({event['state']}), DONE by "
                           f"{row['uploader']} in {seconds:.0f} s; node-b still records "
                           f"(newest segment {(utcnow() - newest).total_seconds():.0f} s old)")

    # --- teardown ---------------------------------------------------------------------------

    def teardown(self):
        for node in list(self.nodes.values()) + self.extra_projects:
            if os.path.exists(node.env_path):
                node.run("down", "--volumes", "--remove-orphans", "--timeout", "30",
                         check=False)
        self.remove_leftovers()
        if not self.args.keep:
            images = [i for i in self.built_images]
            if images:
                self.docker("rmi", *images, check=False)
            say(f"removed {len(images)} images (--keep keeps them)")

    def run(self):
        os.makedirs(self.work, exist_ok=True)
        self.prepare_engine()
        try:
            self.remove_leftovers()
            self.base_images()
            self.build()
            self.configure()
            self.validate_compose_file()
            variants = self.start_origin()
            say(f"demo origin up ({variants} variants); starting node A (primary)")
            seconds_a = self.up("a")
            say("starting node B (standby)")
            seconds_b = self.up("b")
            self.report.figure("up", f"node-a (primary, compose v2) healthy in {seconds_a:.0f} s, "
                               f"node-b (standby, docker-compose 1.29) in {seconds_b:.0f} s")
            self.check_recording()
            self.check_event()
            self.check_editor()
            self.check_restart_policy()
            self.check_hole_and_backfill()
            self.check_users_and_health()
            self.check_images()
            self.check_backup_restore()
            self.check_down_up()
            self.check_promotion()
            outcome = "PASSED"
        except CheckFailed as e:
            print(f"docker-check: FAILED: {e}", file=sys.stderr, flush=True)
            self.dump_logs()
            outcome = "FAILED"
        except KeyboardInterrupt:
            outcome = "INTERRUPTED"
        finally:
            try:
                self.teardown()
            finally:
                self.engine.stop()
        self.report.summary(outcome)
        return 0 if outcome == "PASSED" else 1

    def dump_logs(self):
        """Every container's log into the work directory, for the operator to read."""
        logs = os.path.join(self.work, "logs")
        os.makedirs(logs, exist_ok=True)
        for n, node in list(self.nodes.items()) + [(p.project, p) for p in self.extra_projects]:
            try:
                containers = node.containers()
            except CheckFailed:
                continue
            for service, cid in containers.items():
                result = self.docker("logs", "--timestamps", cid, check=False)
                with open(os.path.join(logs, f"{n}-{service}.log"), "w") as f:
                    f.write(result.stdout + result.stderr)
        say(f"container logs: {logs}")


def urlopen_ok(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def http_text(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("docker-check: error: run as root (it may install packages and start dockerd)",
              file=sys.stderr)
        return 2
    # SIGTERM tears down like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    return Check(args).run()
