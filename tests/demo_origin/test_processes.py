"""The one parent-death mechanism (demo origin's ffmpeg, ./run-local's services, the tests'
origin): a child outlives no parent killed without a chance to clean up."""

import os
import signal
import subprocess
import sys

from demo_origin.processes import with_parent_death_signal
from support.waiting import wait_for

# The parent starts `sleep` through the wrapper, prints its pid, then waits to be killed.
PARENT = """
import subprocess, sys, time
from demo_origin.processes import with_parent_death_signal
child = subprocess.Popen(with_parent_death_signal(["sleep", "120"]))
print(child.pid, flush=True)
time.sleep(120)
"""


def running(pid):
    """True while pid exists and is not a zombie (a dead child waiting for init to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def command_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def test_child_dies_with_its_parent_killed_by_sigkill():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        # Once setpriv has exec'd the command, the signal is set (before, killing the parent
        # would race setpriv's prctl).
        wait_for(lambda: command_of(child) == "sleep", 10, "setpriv to exec the command")
        parent.kill()
        parent.wait(timeout=10)
        wait_for(lambda: not running(child), 10, "the orphaned child to be stopped")
    finally:
        parent.kill()
        parent.wait()
        if running(child):
            os.kill(child, signal.SIGKILL)


def test_wrapped_command_keeps_its_pid_and_exit_status():
    # setpriv execs the command: the pid callers signal (stop_ffmpeg) is the command's own.
    result = subprocess.run(with_parent_death_signal(
        [sys.executable, "-c", "import os, sys; print(os.getpid()); sys.exit(3)"]),
        stdout=subprocess.PIPE, text=True)
    assert result.returncode == 3
    proc = subprocess.Popen(with_parent_death_signal(
        [sys.executable, "-c", "import os; print(os.getpid())"]), stdout=subprocess.PIPE,
        text=True)
    assert int(proc.communicate()[0]) == proc.pid
