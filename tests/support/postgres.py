"""Real Postgres for tests: the server on 127.0.0.1:5432 if there is one, else a private
temporary cluster. Under CI=true a missing server is a failure.

A private cluster is started the one way the repository starts one: run-local's PrivateCluster
(scripts/runlocal/database.py: initdb and the server as an unprivileged account when we are
root, the newest installed PostgreSQL version), here on a free port in a temporary directory."""

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack, contextmanager
from typing import NamedTuple

import psycopg2

from support.binaries import missing
from support.waiting import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from runlocal.database import DEFAULT_SERVER, PrivateCluster, pg_binary, reachable  # noqa: E402


class RunningCluster(NamedTuple):
    port: int
    directory: str  # temporary, removed afterwards; the cluster's files are in cluster.datadir
    cluster: PrivateCluster

    def run_as_owner(self, argv, **kwargs):
        """Run a command as the account the cluster runs as (pg_ctl, setup scripts)."""
        return subprocess.run(argv, check=True, **self.cluster.as_user(), **kwargs)


def have_server_binaries():
    return bool(pg_binary("initdb") and pg_binary("postgres"))


@contextmanager
def running_private_cluster(prefix):
    """A private cluster on a free port -> RunningCluster. Not under pytest's tmp_path: its
    parents are private to root, and the cluster runs as the postgres user when we are root.
    Stopping must exit cleanly."""
    directory = tempfile.mkdtemp(prefix=prefix)
    os.chmod(directory, 0o755)
    try:
        cluster = PrivateCluster(os.path.join(directory, "postgres"))
        cluster.prepare()
        port = free_port()
        process = subprocess.Popen(cluster.argv(port), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True,
                                   **cluster.as_user())
        try:
            cluster.wait_ready(port, process)
            yield RunningCluster(port, directory, cluster)
        finally:
            os.killpg(process.pid, signal.SIGINT)  # fast shutdown
            assert process.wait(timeout=30) == 0
    finally:
        subprocess.run(["rm", "-rf", directory], check=True)


class PostgresServer:
    def __init__(self, host, port, user, stack=None):
        self.host, self.port, self.user = host, port, user
        self._stack = stack

    def dsn(self, dbname="postgres"):
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    @classmethod
    def find_or_start(cls):
        """The local server, unless TEST_PRIVATE_POSTGRES=1 asks for a private cluster."""
        if os.environ.get("TEST_PRIVATE_POSTGRES") != "1" and reachable(**DEFAULT_SERVER):
            return cls(**DEFAULT_SERVER)
        if not have_server_binaries():
            missing("no Postgres on 127.0.0.1:5432 and no PostgreSQL binaries to start one")
        stack = ExitStack()
        running = stack.enter_context(running_private_cluster("test-postgres-"))
        return cls("127.0.0.1", running.port, "postgres", stack)

    def stop(self):
        if self._stack is not None:
            self._stack.close()


@contextmanager
def throwaway_database(server):
    name = "test_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(server.dsn())
    admin.autocommit = True
    try:
        admin.cursor().execute(f'CREATE DATABASE "{name}"')
        yield server.dsn(name)
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
