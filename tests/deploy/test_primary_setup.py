"""The compose file's primary configuration, run for real: postgres/setup-primary.sh with the
environment docker-compose.yml gives it (from .env.example) and the nodes.csv of
docs/production.md, against a private PostgreSQL cluster; then the services' DATABASE_DSN
connects as the application role and sees the seeded nodes."""

import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import yaml

from deploy.compose_env import interpolate, read_env_file
from support.postgres import running_private_cluster

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from runlocal import database  # noqa: E402


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


@pytest.fixture
def cluster_port():
    if not (database.pg_binary("postgres") and shutil.which("psql")):
        pytest.skip("no PostgreSQL server binaries or psql")
    with running_private_cluster("deploy-primary-") as running:
        yield running.port, running.directory


def test_primary_setup_from_compose_env_serves_the_example_dsn(cluster_port):
    port, directory = cluster_port
    env_example = read_env_file(read(".env.example"))
    compose = yaml.safe_load(interpolate(read("docker-compose.yml"), env_example))
    service_env = compose["services"]["postgres-primary"]["environment"]

    # The seed file exactly as docs/production.md writes it.
    doc = read("docs", "production.md")
    csv = re.search(r"cat > postgres-seed/nodes.csv <<'CSV'\n(.*?)\nCSV\n", doc, re.S).group(1)
    seed = os.path.join(directory, "seed")
    os.mkdir(seed)
    mounted = service_env["NODES_CSV"].replace("/opt/archive/seed", seed)
    with open(mounted, "w") as f:
        f.write(csv + "\n")

    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres",
               **{k: v for k, v in service_env.items() if k not in ("POSTGRES_PASSWORD",)})
    env["NODES_CSV"] = mounted
    env.pop("PGDATA", None)
    result = subprocess.run(["bash", os.path.join(ROOT, "postgres", "setup-primary.sh")],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

    # The services' DSN from .env.example, pointed at this cluster.
    dsn = urlsplit(env_example["DATABASE_DSN"])
    netloc = f"{dsn.username}:{dsn.password}@127.0.0.1:{port}"
    local_dsn = urlunsplit((dsn.scheme, netloc, dsn.path, "", ""))
    with psycopg2.connect(local_dsn) as conn:
        cur = conn.cursor()
        cur.execute("SELECT current_user, current_database()")
        assert cur.fetchone() == (env_example["DB_APP_USER"], env_example["DB_NAME"])
        cur.execute("SELECT name, url, backfill_from FROM nodes ORDER BY name")
        assert cur.fetchall() == [("node-a", "http://node-a.example.org:8000", True),
                                  ("node-b", "http://node-b.example.org:8000", True)]
        cur.execute("SELECT rolreplication FROM pg_roles WHERE rolname = %s",
                    (env_example["DB_REPLICATION_USER"],))
        assert cur.fetchone() == (True,)
    conn.close()

    # Every service applies the schema at start as the application role: that must work too.
    from common.database import DBManager
    DBManager(local_dsn).get_conn().close()
