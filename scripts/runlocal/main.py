"""./run-local: start a whole node, tell the user where to look, stop it all on Ctrl-C."""

import os
import signal
import sys
import threading
import time
import urllib.request

from . import database, options, services
from .banner import banner
from .supervisor import Output, Supervisor


def fail(message):
    print(f"run-local: error: {message}", file=sys.stderr)
    return 2


def write_atomically(path, text):
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def get_database(plan, supervisor):
    """DSN of the node's database, starting a private cluster (as a child) if needed."""
    if plan.database:
        database.check_dsn(plan.database)
        return plan.database
    if not plan.private_database and database.reachable(**database.DEFAULT_SERVER):
        supervisor.say("using the Postgres server on 127.0.0.1:5432")
        return database.ensure_database(**database.DEFAULT_SERVER)
    cluster = database.PrivateCluster(plan.path("postgres"))
    port = cluster.prepare()
    why = ("as asked" if plan.private_database else
           "no Postgres on 127.0.0.1:5432 that user postgres can use without a password")
    supervisor.say(f"{why}: starting a private cluster in {cluster.directory} on port {port}")
    child = supervisor.add("postgres", cluster.argv(port), popen_kwargs=cluster.as_user(),
                           stop_signal=signal.SIGINT)  # SIGINT = fast shutdown
    supervisor.start(child)
    cluster.wait_ready(port, child.process)
    return database.ensure_database("127.0.0.1", port, "postgres")


def wait_for_url(url, supervisor, timeout, child=None):
    """True once URL answers 200; False on timeout, stop signal or the child's death."""
    deadline = time.monotonic() + timeout
    while not supervisor.stopping.is_set() and time.monotonic() < deadline:
        if child is not None and not child.running():
            return False
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return True
        except OSError:
            supervisor.stopping.wait(0.25)
    return False


def announce_when_ready(plan, dsn, supervisor, timeout=60):
    url = plan.restreamer_url + "/metrics"
    if not wait_for_url(url, supervisor, timeout):
        if not supervisor.stopping.is_set():
            supervisor.say(f"the restreamer does not answer on {url} yet; see its log")
        return
    for line in banner(plan, dsn, sys.executable):
        supervisor.say(line)


def tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return []


def main(argv=None):
    try:
        plan = options.plan_from_args(argv)
    except options.UsageError as e:
        return fail(str(e))
    busy = options.busy_ports(plan)
    if busy:
        listed = ", ".join(f"{port} ({service})" for service, port in busy)
        return fail(f"ports already in use: {listed}. Another node running? "
                    "Use --port-offset N to shift every port.")
    for sub in ("segments", "logs", "uploads"):
        os.makedirs(plan.path(sub), exist_ok=True)

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    supervisor = Supervisor(Output(), plan.path("logs"), env=env)
    supervisor.open_log()
    supervisor.install_signal_handlers()
    code = 0
    try:
        dsn = get_database(plan, supervisor)
        write_atomically(services.cutter_config_path(plan), services.cutter_config_text(plan))
        for service in services.service_commands(plan, dsn):
            if supervisor.stopping.is_set():
                break
            child = supervisor.add(service.name, service.argv)
            supervisor.start(child)
            if service.ready_url and not wait_for_url(service.ready_url, supervisor, 30, child):
                supervisor.say(f"{service.name} is not serving {service.ready_url} yet "
                               "(see its log); starting the rest anyway")
        threading.Thread(target=announce_when_ready, args=(plan, dsn, supervisor),
                         daemon=True).start()
        supervisor.watch()
        if supervisor.fatal:
            supervisor.say(f"error: {supervisor.fatal}")
            code = 1
    except (database.DatabaseError, RuntimeError) as e:
        supervisor.say(f"error: {e}")
        code = 1
    finally:
        supervisor.say("stopping every service")
        # The stream source after the downloader, whose in-flight segments then finish (not
        # retried against a vanished origin until its stop timeout), the database after all.
        last = [c for c in supervisor.children if c.name in ("demo_origin", "postgres")]
        supervisor.stop(last=last)
        if code and supervisor.fatal:
            name = supervisor.fatal.split()[0]
            for line in tail(plan.path("logs", f"{name}.log")):
                supervisor.output.line(name, line)
        supervisor.say("stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
