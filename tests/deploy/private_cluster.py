"""run-local's private PostgreSQL cluster, started for a test and stopped afterwards."""

import os
import signal
import subprocess
import sys
import tempfile
from contextlib import contextmanager

from support.waiting import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from runlocal import database  # noqa: E402


@contextmanager
def running_private_cluster(prefix):
    """-> (port, directory). Not under pytest's tmp_path: its parents are private to root, and
    the cluster runs as the postgres user when we are root. Stopping must exit cleanly."""
    directory = tempfile.mkdtemp(prefix=prefix)
    os.chmod(directory, 0o755)
    try:
        cluster = database.PrivateCluster(os.path.join(directory, "postgres"))
        cluster.prepare()
        port = free_port()
        process = subprocess.Popen(cluster.argv(port), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True,
                                   **cluster.as_user())
        try:
            cluster.wait_ready(port, process)
            yield port, directory
        finally:
            os.killpg(process.pid, signal.SIGINT)
            assert process.wait(timeout=30) == 0
    finally:
        subprocess.run(["rm", "-rf", directory], check=True)
