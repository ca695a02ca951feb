"""postgres/ setup scripts, without Docker: the primary setup against a real server, and a
streaming-replication standby cloned with pg_basebackup from a private primary cluster."""

import json
import os
import signal
import subprocess
import sys
import uuid

import psycopg2
import pytest

from support.postgres import (PostgresServer, PrivateCluster, have_server_binaries,
                              running_private_cluster)
from support.waiting import free_port, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP_PRIMARY = os.path.join(REPO, "postgres", "setup-primary.sh")
SETUP_STANDBY = os.path.join(REPO, "postgres", "setup-standby.sh")


@pytest.fixture
def role_names(postgres_server):
    suffix = uuid.uuid4().hex[:8]
    names = {"APP_USER": f"app_{suffix}", "READONLY_USER": f"ro_{suffix}",
             "REPLICATION_USER": f"repl_{suffix}"}
    yield names
    conn = psycopg2.connect(postgres_server.dsn())
    conn.autocommit = True
    for name in names.values():
        conn.cursor().execute(f'DROP ROLE IF EXISTS "{name}"')
    conn.close()


def setup_primary(server, database, roles, tmp_path, **env):
    full_env = dict(os.environ, PGHOST=server.host, PGPORT=str(server.port), PGUSER=server.user,
                    DATABASE=database, APP_PASSWORD="app-pw", READONLY_PASSWORD="ro-pw",
                    REPLICATION_PASSWORD="repl-pw", REPLICATION_HBA="",
                    NODES_CSV=str(tmp_path / "nodes.csv"), **roles)
    full_env.update(env)
    full_env.pop("PGDATA", None)
    return subprocess.run(["bash", SETUP_PRIMARY], env=full_env, capture_output=True,
                          text=True, timeout=60)


def test_primary_roles_schema_grants_and_nodes(postgres_server, role_names, db_dsn, tmp_path):
    database = psycopg2.extensions.parse_dsn(db_dsn)["dbname"]
    (tmp_path / "nodes.csv").write_text(
        "name,url,backfill_from\nnode-a,http://a:8000,true\nnode-b,http://b:8000,false\n"
        "node-c,http://c:8000,\n")
    for _ in range(2):  # idempotent
        result = setup_primary(postgres_server, database, role_names, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "NOTICE" not in result.stderr
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT name, url, backfill_from FROM nodes ORDER BY name")
    assert cur.fetchall() == [("node-a", "http://a:8000", True), ("node-b", "http://b:8000", False),
                              ("node-c", "http://c:8000", True)]
    cur.execute("SELECT rolname, rolcanlogin, rolreplication, rolsuper FROM pg_roles "
                "WHERE rolname = ANY(%s) ORDER BY rolname", (list(role_names.values()),))
    assert sorted(cur.fetchall()) == sorted([
        (role_names["APP_USER"], True, False, False),
        (role_names["READONLY_USER"], True, False, False),
        (role_names["REPLICATION_USER"], True, True, False)])
    cur.execute("SELECT tableowner FROM pg_tables WHERE tablename IN ('events', 'nodes')")
    assert {row[0] for row in cur.fetchall()} == {role_names["APP_USER"]}
    # The read-only role reads everything and writes nothing.
    cur.execute(f'SET ROLE "{role_names["READONLY_USER"]}"')
    cur.execute("SELECT count(*) FROM events")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("INSERT INTO nodes (name, url) VALUES ('x', 'http://x')")
    conn.close()


def test_read_only_role_lists_and_shows_events_with_the_cli(postgres_server, role_names, db_dsn,
                                                           tmp_path):
    """`events list/show` only read: the read-only role can use them (they apply no schema);
    a write as that role is a one-line refusal."""
    database = psycopg2.extensions.parse_dsn(db_dsn)["dbname"]
    result = setup_primary(postgres_server, database, role_names, tmp_path)
    assert result.returncode == 0, result.stderr
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("INSERT INTO events (event_start, description) VALUES ('2026-11-27T12:00', "
                "'seen read-only') RETURNING id")
    event_id = str(cur.fetchone()[0])
    conn.close()
    read_only = (f"host={postgres_server.host} port={postgres_server.port} "
                 f"user={role_names['READONLY_USER']} password=ro-pw dbname={database}")

    def uploader(*argv):
        return subprocess.run([sys.executable, "-m", "uploader", "--database", read_only, *argv],
                              capture_output=True, text=True, timeout=60)

    listed = uploader("events", "list")
    assert listed.returncode == 0, listed.stderr
    assert event_id in listed.stdout and "seen read-only" in listed.stdout
    shown = uploader("events", "show", event_id[:8], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["description"] == "seen read-only"
    refused = uploader("events", "create", "--event-start", "2026-11-27T13:00")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "permission denied" in refused.stderr


def test_primary_refuses_without_app_password(postgres_server, role_names, db_dsn, tmp_path):
    result = setup_primary(postgres_server, "unused", role_names, tmp_path, APP_PASSWORD="")
    assert result.returncode == 1
    assert result.stderr.strip() == "setup-primary: APP_PASSWORD must be set"


@pytest.mark.skipif(not have_server_binaries(), reason="no PostgreSQL binaries")
def test_standby_replicates_from_primary(tmp_path):
    with running_private_cluster("standby-test-") as running:
        primary = PostgresServer("127.0.0.1", running.port, "postgres")
        # Next to the primary's files: a directory the account running PostgreSQL can reach.
        standby_dir = os.path.join(running.directory, "standby")
        os.mkdir(standby_dir)
        os.chmod(standby_dir, 0o777)
        standby_cluster = PrivateCluster(standby_dir)
        standby_data = standby_cluster.datadir
        standby_port = free_port()
        (tmp_path / "nodes.csv").write_text("name,url\nnode-a,http://a:8000\n")
        roles = {"APP_USER": "app", "READONLY_USER": "ro", "REPLICATION_USER": "repl"}
        result = setup_primary(primary, "archive", roles, tmp_path, REPLICATION_HBA=os.path.join(
            running.cluster.datadir, "pg_hba.conf"))
        assert result.returncode == 0, result.stderr
        env = ["env", f"PGDATA={standby_data}", f"PRIMARY_HOST={primary.host}",
               f"PRIMARY_PORT={primary.port}", "REPLICATION_USER=repl",
               "REPLICATION_PASSWORD=repl-pw", "PRIMARY_WAIT=10"]
        running.run_as_owner(env + ["bash", SETUP_STANDBY, "--prepare-only"])
        assert os.path.exists(os.path.join(standby_data, "standby.signal"))
        process = subprocess.Popen(standby_cluster.argv(standby_port), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True,
                                   **standby_cluster.as_user())
        try:
            standby_cluster.wait_ready(standby_port, process)
            check_standby(primary, standby_port)
        finally:
            os.killpg(process.pid, signal.SIGQUIT)  # immediate shutdown
            process.wait(timeout=30)
        # Started again on a cloned directory, it does not clone again.
        running.run_as_owner(env + ["bash", SETUP_STANDBY, "--prepare-only"])


def check_standby(primary, standby_port):
    dsn = f"host=127.0.0.1 user=postgres dbname=archive port={standby_port}"
    standby = psycopg2.connect(dsn)
    standby.autocommit = True
    cur = standby.cursor()
    cur.execute("SELECT pg_is_in_recovery()")
    assert cur.fetchone() == (True,)
    cur.execute("SELECT name FROM nodes")
    assert cur.fetchall() == [("node-a",)]
    # A write on the primary streams over.
    writer = psycopg2.connect(primary.dsn("archive"))
    writer.autocommit = True
    writer.cursor().execute("INSERT INTO nodes (name, url) VALUES ('node-b', 'http://b')")
    writer.close()

    def nodes():
        cur.execute("SELECT count(*) FROM nodes")
        return cur.fetchone()[0]

    wait_for(lambda: nodes() == 2, 20, "the write to reach the standby")
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        cur.execute("INSERT INTO nodes (name, url) VALUES ('node-c', 'http://c')")
    standby.close()
