"""A cutter that starts (or reconnects) cleans up after its uploads a crash interrupted: the
temporary file a killed cutter on this host was writing goes; a live writer's stays."""

import os
import socket
import subprocess
import sys

import gevent

from common import database
from cutter.config import Location
from cutter.worker import Cutter
from uploader.backends import make_backend
from uploader.backends.local import temp_name


def test_recover_removes_a_dead_cutters_temporary_upload(db_dsn, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    left = uploads / temp_name("v.mp4", socket.gethostname(), int(dead.stdout))
    live = uploads / temp_name("w.mp4", socket.gethostname(), os.getpid())
    for path in (left, live):
        path.write_bytes(b"half a video")
    backend = make_backend("local", {"directory": str(uploads)})
    db = database.DBManager(db_dsn)
    cutter = Cutter("node1", db, str(tmp_path), {"local": Location("local", backend, None, 60)},
                    gevent.event.Event())
    cutter.conn = db.get_conn()
    try:
        cutter.recover()
    finally:
        cutter.conn.close()
    assert sorted(os.listdir(uploads)) == [live.name]
