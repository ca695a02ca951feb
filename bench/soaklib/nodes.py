"""Two archive nodes run as ./run-local runs them (the same service command lines and the same
supervisor, which restarts a service that dies), sharing one private Postgres cluster that the
soak starts, stops and restarts itself."""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from runlocal import database, services  # noqa: E402
from runlocal.options import PORTS, Plan, Stream  # noqa: E402,F401 (PORTS: for soak.py)
from runlocal.supervisor import Output, Supervisor  # noqa: E402

STREAM = "demo"
# Services a fault may hit, with the port their /metrics is served on.
FAULTABLE = ("downloader", "restreamer", "backfiller", "cutter", "segment_coverage")


class Cluster:
    """The soak's own Postgres (never the machine's server), restartable."""

    def __init__(self, directory):
        self.cluster = database.PrivateCluster(directory)
        self.port = None
        self.process = None
        self.log_path = os.path.join(directory, "postgres.log")

    def start(self):
        port = self.cluster.prepare()
        self.port = self.port or (port if port != database.DEFAULT_SERVER["port"]
                                  else database.free_port(0))
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.cluster.argv(self.port), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, **self.cluster.as_user())
        log.close()
        self.cluster.wait_ready(self.port, self.process)
        return self

    def dsn(self):
        return database.ensure_database("127.0.0.1", self.port, "postgres")

    def stop(self, how=signal.SIGINT):
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, how)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Node:
    def __init__(self, name, data_dir, port_offset, origin_url, peer_urls, dsn, editor):
        self.name = name
        self.plan = Plan(data_dir=data_dir, port_offset=port_offset,
                         stream=Stream("url", STREAM, origin_url), peers=peer_urls,
                         database=dsn, node_name=name)
        self.dsn = dsn
        self.editor = editor
        for sub in ("segments", "logs", "uploads"):
            os.makedirs(self.plan.path(sub), exist_ok=True)
        self.output = open(self.plan.path("logs", "supervisor-output.log"), "a")
        self.supervisor = Supervisor(Output(self.output), self.plan.path("logs"),
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.supervisor.open_log()
        self.thread = None

    @property
    def restreamer_url(self):
        return self.plan.restreamer_url

    @property
    def editor_url(self):
        return self.plan.editor_url

    def metrics_url(self, service):
        return f"http://127.0.0.1:{self.plan.port(service)}/metrics"

    def start(self):
        with open(services.cutter_config_path(self.plan), "w") as f:
            f.write(services.cutter_config_text(self.plan))
        for service in services.service_commands(self.plan, self.dsn):
            if service.name == "editor" and not self.editor:
                continue
            self.supervisor.start(self.supervisor.add(service.name, service.argv))
        self.thread = threading.Thread(target=self.supervisor.watch, daemon=True)
        self.thread.start()

    def child(self, service):
        return next(c for c in self.supervisor.children if c.name == service)

    def pid(self, service):
        child = self.child(service)
        return child.process.pid if child.running() else None

    def kill(self, service):
        """SIGKILL the service's process (a crash); its supervisor restarts it."""
        pid = self.pid(service)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        return pid

    def pause(self, service, paused):
        """SIGSTOP (a hung process) or SIGCONT its whole process group."""
        self.child(service).signal_group(signal.SIGSTOP if paused else signal.SIGCONT)

    def fatal(self):
        return self.supervisor.fatal

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.metrics_url("restreamer"), timeout=2).close()
                return True
            except OSError:
                time.sleep(0.5)
        return False

    def stop(self):
        for child in self.supervisor.children:
            child.signal_group(signal.SIGCONT)  # a paused one must be able to stop
        self.supervisor.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.supervisor.stop()
        self.output.close()
