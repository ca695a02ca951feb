"""Getting a database for a local node: the given DSN, the server on 127.0.0.1:5432, or a
private cluster under DATA/postgres (run as an unprivileged user when we are root, since
PostgreSQL refuses to run as root)."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time

import psycopg2
from psycopg2 import sql

DATABASE_NAME = "archive"
DEFAULT_SERVER = dict(host="127.0.0.1", port=5432, user="postgres")


class DatabaseError(Exception):
    pass


def check_dsn(dsn, timeout=5):
    """Raise DatabaseError with the server's reason if the DSN does not connect."""
    try:
        psycopg2.connect(dsn, connect_timeout=timeout).close()
    except psycopg2.ProgrammingError as e:  # not a DSN at all: nothing was tried
        raise DatabaseError(f"bad --database DSN: {first_line(e)}")
    except psycopg2.Error as e:
        raise DatabaseError(f"cannot connect to --database: {first_line(e)}")


def server_dsn(host, port, user, dbname):
    return f"host={host} port={port} user={user} dbname={dbname}"


def reachable(host, port, user, timeout=2):
    try:
        psycopg2.connect(server_dsn(host, port, user, "postgres"), connect_timeout=timeout).close()
        return True
    except psycopg2.Error:
        return False


def ensure_database(host, port, user, name=DATABASE_NAME):
    """Create database NAME if missing; return its DSN."""
    try:
        conn = psycopg2.connect(server_dsn(host, port, user, "postgres"), connect_timeout=5)
    except psycopg2.Error as e:
        raise DatabaseError(f"cannot connect to Postgres on {host}:{port}: {first_line(e)}")
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            try:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg2.errors.DuplicateDatabase:
                pass  # another node created it at the same moment
    except psycopg2.Error as e:
        raise DatabaseError(f"cannot create database {name} on {host}:{port} as {user}: "
                            f"{first_line(e)} (or pass --database DSN)")
    finally:
        conn.close()
    return server_dsn(host, port, user, name)


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def pg_binary(name):
    """The newest installed PostgreSQL version's NAME (Debian's layout), else NAME on PATH."""
    return newest_version(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or shutil.which(name)


def newest_version(paths):
    """The path under the highest /usr/lib/postgresql/VERSION/, compared as numbers (as
    strings, 9 would beat 15)."""
    def version(path):
        part = path.split("/")[4]
        return int(part) if part.isdigit() else 0
    return max(paths, key=version, default=None)


def unprivileged_user():
    """The account to run PostgreSQL as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise DatabaseError("running as root and no 'postgres' or 'nobody' account to run "
                        "PostgreSQL as; pass --database DSN")


def free_port(preferred):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """A cluster in DIR/data, on 127.0.0.1:5432 when that port is free (so that a second
    node on this machine finds and shares it), else on any free port."""

    def __init__(self, directory):
        self.directory = directory
        self.datadir = os.path.join(directory, "data")
        self.user = unprivileged_user()
        self.initdb, self.postgres = pg_binary("initdb"), pg_binary("postgres")
        if not (self.initdb and self.postgres):
            raise DatabaseError(
                "no Postgres answers on 127.0.0.1:5432 and the PostgreSQL server binaries are "
                "missing: install them (sudo apt-get install postgresql) or pass --database DSN")

    def as_user(self):
        """Popen keyword arguments that drop to the unprivileged account (if root)."""
        if self.user is None:
            return {}
        return dict(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])

    def prepare(self):
        """initdb on first use; returns the port to run on."""
        os.makedirs(self.directory, exist_ok=True)
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
            os.chmod(self.directory, 0o700)
            reach = subprocess.run(["test", "-w", self.directory], **self.as_user())
            if reach.returncode != 0:
                raise DatabaseError(
                    f"PostgreSQL runs as user {self.user.pw_name}, who cannot reach "
                    f"{self.directory} (a parent directory is private to root): use --data "
                    "with a directory others can traverse, or --database DSN")
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            result = subprocess.run(
                [self.initdb, "-D", self.datadir, "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-instructions"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **self.as_user())
            if result.returncode != 0:
                who = f" as user {self.user.pw_name}" if self.user else ""
                raise DatabaseError(f"initdb{who} failed in {self.datadir}: "
                                    + result.stdout.strip().splitlines()[-1])
        return free_port(DEFAULT_SERVER["port"])

    def argv(self, port):
        # No unix socket: its path length limit breaks deep data dirs, and TCP is all we use.
        return [self.postgres, "-D", self.datadir, "-p", str(port),
                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]

    @staticmethod
    def wait_ready(port, process, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DatabaseError(f"postgres exited with code {process.returncode} at start "
                                    "(see its log)")
            if reachable("127.0.0.1", port, "postgres", timeout=1):
                return
            time.sleep(0.2)
        raise DatabaseError(f"postgres did not accept connections within {timeout} s")
