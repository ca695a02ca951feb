"""Real Postgres for tests: the server on 127.0.0.1:5432 if there is one, else a temporary
cluster started with the PostgreSQL binaries. Under CI=true a missing server is a failure."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager

import psycopg2
import pytest

DEFAULT = dict(host="127.0.0.1", port=5432, user="postgres")


def _reachable(host, port, user):
    try:
        psycopg2.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def _pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, host, port, user, datadir=None, run_as=None):
        self.host, self.port, self.user = host, port, user
        self.datadir, self.run_as = datadir, run_as

    def dsn(self, dbname="postgres"):
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    @classmethod
    def find_or_start(cls):
        """The local server, unless TEST_PRIVATE_POSTGRES=1 asks for a private cluster."""
        if os.environ.get("TEST_PRIVATE_POSTGRES") != "1" and _reachable(**DEFAULT):
            return cls(**DEFAULT)
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not (initdb and pg_ctl):
            message = "no Postgres on 127.0.0.1:5432 and no PostgreSQL binaries to start one"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        return cls._start_private(initdb, pg_ctl)

    @classmethod
    def _start_private(cls, initdb, pg_ctl):
        # PostgreSQL refuses to run as root: then the cluster belongs to the postgres (or
        # nobody) account, in a directory of its own that account can reach (pytest's temporary
        # directories are private to root).
        run_as = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    run_as = pwd.getpwnam(name)
                    break
                except KeyError:
                    pass
        tmpdir = tempfile.mkdtemp(prefix="test-postgres-")
        if run_as:
            os.chmod(tmpdir, 0o755)
            os.chown(tmpdir, run_as.pw_uid, run_as.pw_gid)
        datadir, port = os.path.join(tmpdir, "data"), _free_port()

        def run(cmd):
            if run_as:
                cmd = ["runuser", "-u", run_as.pw_name, "--"] + cmd
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

        run([initdb, "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        run([pg_ctl, "-D", datadir, "-w", "-l", os.path.join(tmpdir, "log"), "-o",
             f"-p {port} -k {tmpdir} -c listen_addresses=127.0.0.1", "start"])
        server = cls("127.0.0.1", port, "postgres", datadir, run_as)
        server._run, server._pg_ctl, server._tmpdir = run, pg_ctl, tmpdir
        return server

    def stop(self):
        if self.datadir:
            self._run([self._pg_ctl, "-D", self.datadir, "-m", "fast", "-w", "stop"])
            shutil.rmtree(self._tmpdir, ignore_errors=True)


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
