"""The local supervisor on its own: real child processes (shell scripts standing in for the
services), real signals, real Postgres binaries for the private cluster."""

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid

import psycopg2
import pytest

from support.postgres import running_private_cluster
from support.waiting import poll as wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from runlocal import database, options, services  # noqa: E402
from runlocal.supervisor import Output, Supervisor  # noqa: E402

MARKER = "SUPERVISOR_TEST_MARKER"


def marked(marker):
    needle = f"{MARKER}={marker}".encode()
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


@pytest.fixture
def supervisor(tmp_path):
    marker = uuid.uuid4().hex
    out = io.StringIO()
    sup = Supervisor(Output(out), str(tmp_path), env=dict(os.environ, **{MARKER: marker}))
    sup.marker, sup.out = marker, out
    yield sup
    sup.stop(timeout=5)
    for pid in marked(marker):
        os.kill(pid, signal.SIGKILL)


def test_output_is_prefixed_and_logged_and_stop_leaves_no_process(supervisor, tmp_path):
    # A service with a helper process in its group (like ffmpeg under the restreamer).
    script = "echo starting; sleep 300 & echo helper started; wait"
    child = supervisor.add("fake", ["sh", "-c", script])
    supervisor.start(child)
    assert wait_until(lambda: "helper started" in supervisor.out.getvalue())
    assert wait_until(lambda: len(marked(supervisor.marker)) == 2)
    supervisor.stop(timeout=10)
    assert marked(supervisor.marker) == []
    lines = supervisor.out.getvalue().splitlines()
    assert "fake             | starting" in lines
    assert (tmp_path / "fake.log").read_text() == "starting\nhelper started\n"


def test_a_leader_that_exits_on_sigterm_does_not_leave_its_helpers(supervisor):
    # The leader exits at once on TERM; its helper ignores the group's TERM once.
    script = ("sh -c 'trap \"\" TERM; echo helper ready; exec sleep 300' & "
              "trap 'exit 0' TERM; while true; do sleep 0.1; done")
    child = supervisor.add("leaky", ["sh", "-c", script])
    supervisor.start(child)
    assert wait_until(lambda: "helper ready" in supervisor.out.getvalue())
    supervisor.stop(timeout=2)
    assert marked(supervisor.marker) == []
    assert "did not stop within 2 s: killing it" in supervisor.out.getvalue()


def test_a_crashing_service_is_restarted(supervisor):
    child = supervisor.add("crashy", ["sh", "-c", "echo run; sleep 0.2; exit 1"])
    supervisor.start(child)
    supervisor.stopping.clear()

    def two_runs():
        supervisor._check(child)
        return supervisor.out.getvalue().count("| run") >= 2
    assert wait_until(two_runs)
    assert "exited with code 1; restarting in 1 s" in supervisor.out.getvalue()
    assert supervisor.fatal is None


def test_a_configuration_error_at_start_is_fatal(supervisor):
    child = supervisor.add("badconf", ["sh", "-c", "echo 'error: bad flag' >&2; exit 2"])
    supervisor.start(child)
    supervisor.watch()  # returns by itself: nothing to wait for
    assert supervisor.fatal.startswith("badconf cannot start (exit code 2)")


def test_second_node_defaults_and_stream_sources():
    plan = options.plan_from_args(["--data", "/tmp/n2", "--port-offset", "100",
                                   "--peer", "http://127.0.0.1:8000/"])
    assert plan.stream.kind == "none" and plan.node_name == "local-100"
    assert plan.peers == ["http://127.0.0.1:8000"]
    assert plan.port("restreamer") == 8100
    names = [s.name for s in services.service_commands(plan, "dbname=x")]
    assert names == ["restreamer", "backfiller", "segment_coverage", "cutter", "editor"]
    editor = services.service_commands(plan, "dbname=x")[-1].argv
    assert editor[editor.index("--port") + 1] == "8105" and "--no-auth" in editor
    assert editor[editor.index("--host") + 1] == "127.0.0.1"
    urls = [editor[i + 1] for i, arg in enumerate(editor) if arg == "--restreamer-url"]
    assert urls == ["http://127.0.0.1:8100", "http://127.0.0.1:8000"]
    backfiller = services.service_commands(plan, "dbname=x")[1].argv
    assert backfiller[backfiller.index("--node") + 1] == "http://127.0.0.1:8000"
    assert backfiller[backfiller.index("--localhost") + 1] == "local-100"

    twitch = options.plan_from_args(["--stream", "twitch:SomeChannel"]).stream
    assert (twitch.kind, twitch.name) == ("twitch", "somechannel")
    url = options.plan_from_args(["--stream", "https://x/m.m3u8", "--stream-name", "cam"]).stream
    assert (url.kind, url.name, url.url) == ("url", "cam", "https://x/m.m3u8")
    demo = options.plan_from_args([])
    commands = {s.name: s.argv for s in services.service_commands(demo, "dbname=x")}
    downloader = commands["downloader"]
    # Every /metrics on loopback, like the restreamer: nothing of a local node is reachable
    # from the network unless --host says so.
    for name in ("downloader", "backfiller", "segment_coverage", "cutter"):
        argv = commands[name]
        assert argv[argv.index("--metrics-host") + 1] == "127.0.0.1", name
    restreamer = commands["restreamer"]
    assert restreamer[restreamer.index("--host") + 1] == "127.0.0.1"
    shared = options.plan_from_args(["--host", "0.0.0.0"])
    cutter = {s.name: s.argv for s in services.service_commands(shared, "dbname=x")}["cutter"]
    assert cutter[cutter.index("--metrics-host") + 1] == "0.0.0.0"
    at = downloader.index("--stream")
    assert downloader[at:at + 3] == ["--stream", "demo", "http://127.0.0.1:8010/master.m3u8"]
    with pytest.raises(options.UsageError, match="twitch:CHANNEL"):
        options.plan_from_args(["--stream", "ftp://nope"])


def test_bad_usage_is_one_line(tmp_path):
    for args, words in [(["--bogus"], "unrecognized arguments: --bogus"),
                        (["--port-offset", "abc"], "argument --port-offset: invalid int value")]:
        result = run_local("--data", str(tmp_path), *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"run-local: error: {words}")
        assert result.stderr.count("\n") == 1 and "(see --help)" in result.stderr


def free_offset():
    for offset in range(20000, 50000, 97):
        if all(database.free_port(p + offset) == p + offset for p in options.PORTS.values()):
            return offset
    pytest.fail("no free port range")


def run_local(*args, timeout=30):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "run_local.py"), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_busy_port_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        offset = s.getsockname()[1] - 8003
        result = run_local("--data", str(tmp_path), "--port-offset", str(offset),
                           "--stream", "none")
    assert result.returncode == 2
    assert "ports already in use: " in result.stderr
    assert f"{8003 + offset} (cutter)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_dsn_is_told_apart_from_an_unreachable_server():
    with pytest.raises(database.DatabaseError, match='^bad --database DSN: .*"notadsn"'):
        database.check_dsn("notadsn")


def test_unreachable_database_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    result = run_local("--data", str(tmp_path), "--port-offset", str(free_offset()),
                       "--database", f"host=127.0.0.1 port={dead} user=postgres")
    assert result.returncode == 1
    assert "cannot connect to --database" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_cutter_config_is_what_the_cutter_accepts(tmp_path):
    plan = options.plan_from_args(["--data", str(tmp_path)])
    from cutter.config import parse_config
    import json
    locations = parse_config(json.loads(services.cutter_config_text(plan)))
    assert list(locations) == [services.UPLOAD_LOCATION]
    assert locations["local"].backend.directory == str(tmp_path / "uploads")


def test_the_newest_postgresql_version_is_chosen_by_number():
    paths = [f"/usr/lib/postgresql/{v}/bin/initdb" for v in ("9", "15", "13", "dev")]
    assert database.newest_version(paths) == "/usr/lib/postgresql/15/bin/initdb"
    assert database.newest_version([]) is None


@pytest.mark.skipif(not database.pg_binary("postgres"), reason="no PostgreSQL server binaries")
def test_private_cluster_starts_serves_and_stops():
    with running_private_cluster("runlocal-pg-") as running:
        dsn = database.ensure_database("127.0.0.1", running.port, "postgres")
        assert database.ensure_database("127.0.0.1", running.port, "postgres") == dsn
        with psycopg2.connect(dsn) as conn:
            assert conn.cursor().execute("SELECT 1") is None


@pytest.mark.skipif(os.geteuid() != 0 or not database.pg_binary("postgres"),
                    reason="only root drops to another account for PostgreSQL")
def test_private_cluster_under_a_private_directory_is_a_clear_error():
    directory = tempfile.mkdtemp(prefix="runlocal-private-")  # mode 0700, owned by root
    try:
        cluster = database.PrivateCluster(os.path.join(directory, "data", "postgres"))
        with pytest.raises(database.DatabaseError, match="cannot reach"):
            cluster.prepare()
    finally:
        subprocess.run(["rm", "-rf", directory], check=True)


@pytest.mark.skipif(not shutil.which("setpriv"), reason="no setpriv (util-linux)")
def test_services_stop_when_the_supervisor_is_killed(tmp_path):
    """kill -9 of the supervisor leaves no service behind: each gets its parent-death signal."""
    marker = uuid.uuid4().hex
    program = (
        "import io, os, sys, time\n"
        f"sys.path.insert(0, {os.path.join(ROOT, 'scripts')!r})\n"
        "from runlocal.supervisor import Output, Supervisor\n"
        f"sup = Supervisor(Output(io.StringIO()), {str(tmp_path)!r})\n"
        "for name in ('a', 'b'):\n"
        "    sup.start(sup.add(name, ['sleep', '300']))\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n")
    env = dict(os.environ, **{MARKER: marker})
    parent = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, env=env,
                              text=True)
    try:
        assert parent.stdout.readline().strip() == "started"
        assert wait_until(lambda: len(marked(marker)) == 3)
        parent.kill()
        parent.wait()
        assert wait_until(lambda: marked(marker) == [])
    finally:
        parent.kill()
        parent.stdout.close()
        for pid in marked(marker):
            os.kill(pid, signal.SIGKILL)
