"""Child processes of a local node: start each in its own process group, copy its output to
the terminal (prefixed with its name) and to its log file, restart it if it dies, and on stop
signal every group, wait, and kill what is left, so nothing it started outlives it."""

import os
import signal
import subprocess
import sys
import threading
import time

from demo_origin.processes import with_parent_death_signal

COLORS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]
STARTUP_WINDOW = 10   # seconds: exit code 2 this soon after start = configuration error
STABLE_AFTER = 60     # seconds of running that reset the restart backoff
MAX_BACKOFF = 30
MAX_QUICK = 4         # after this many quick exits in a row, the next quick one is fatal



class Output:
    """Serialises lines from every child onto one terminal."""

    def __init__(self, stream=sys.stdout, width=16):
        self.stream, self.width = stream, width
        self.color = stream.isatty() and os.environ.get("NO_COLOR") is None
        self.lock = threading.Lock()

    def line(self, name, text, index=0):
        label = name.ljust(self.width)
        if self.color:
            label = f"\033[{COLORS[index % len(COLORS)]}m{label}\033[0m"
        with self.lock:
            try:
                self.stream.write(f"{label} | {text}\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # the terminal went away; logs still go to files


class Child:
    def __init__(self, name, argv, log_path, output, index, env=None, popen_kwargs=None,
                 stop_signal=signal.SIGTERM):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.output, self.index = output, index
        self.env = env
        self.popen_kwargs = popen_kwargs or {}
        self.stop_signal = stop_signal
        self.process = None
        self.started_at = None
        self.failures = 0
        self.quick_failures = 0
        self.restart_at = None
        self.reader = None

    def say(self, text):
        self.output.line(self.name, text, self.index)

    def start(self):
        self.process = subprocess.Popen(
            # The kernel stops it if the supervisor dies without doing so (kill -9, OOM).
            with_parent_death_signal(self.argv, self.stop_signal), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            env=self.env, **self.popen_kwargs)
        self.started_at = time.monotonic()
        self.restart_at = None
        self.reader = threading.Thread(target=self._copy_output, args=(self.process,),
                                       name=f"log-{self.name}", daemon=True)
        self.reader.start()

    def _copy_output(self, process):
        with open(self.log_path, "ab") as log:
            for raw in process.stdout:
                log.write(raw)
                log.flush()
                self.say(raw.decode("utf-8", "replace").rstrip("\r\n"))
        process.stdout.close()

    @property
    def pgid(self):
        return self.process.pid

    def running(self):
        return self.process is not None and self.process.poll() is None

    def group_alive(self):
        """True while any process of its group exists (the leader reaped first)."""
        if self.process is None:
            return False
        self.process.poll()
        try:
            os.killpg(self.pgid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def signal_group(self, sig):
        if self.process is None:
            return
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def uptime(self):
        return time.monotonic() - self.started_at


class Supervisor:
    def __init__(self, output, log_dir, env=None):
        self.output, self.log_dir = output, log_dir
        self.env = env
        self.children = []
        self.stopping = threading.Event()
        self.fatal = None
        self.log = None

    def open_log(self):
        """The supervisor's own lines go to LOG_DIR/run-local.log too."""
        self.log = open(os.path.join(self.log_dir, "run-local.log"), "a", buffering=1)

    def say(self, text):
        self.output.line("run-local", text, len(COLORS) - 1)
        if self.log is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            self.log.write(f"{stamp} {text}\n")

    def add(self, name, argv, **kwargs):
        child = Child(name, argv, os.path.join(self.log_dir, f"{name}.log"), self.output,
                      len(self.children), env=self.env, **kwargs)
        self.children.append(child)
        return child

    def start(self, child):
        try:
            child.start()
        except OSError as e:
            raise RuntimeError(f"cannot start {child.name}: {e}")

    def install_signal_handlers(self):
        def handler(signum, frame):
            if self.stopping.is_set():
                self.say("second stop signal: killing everything now")
                for child in self.children:
                    child.signal_group(signal.SIGKILL)
            self.stopping.set()
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGHUP, handler)

    def watch(self):
        """Run until a stop signal or a fatal error; restarts children that die."""
        while not self.stopping.wait(0.5):
            for child in self.children:
                self._check(child)
            if self.fatal:
                return

    def _check(self, child):
        if child.restart_at is not None:
            if time.monotonic() >= child.restart_at:
                child.say("restarting")
                self.start(child)
            return
        code = child.process.poll()
        if code is None:
            return
        child.signal_group(signal.SIGKILL)  # orphans of the dead leader (e.g. ffmpeg)
        log = child.log_path
        quick = child.uptime() < STARTUP_WINDOW
        if not quick:
            child.quick_failures = 0
        if child.uptime() > STABLE_AFTER:
            child.failures = 0
        if quick and (code == 2 and child.failures == 0 or child.quick_failures >= MAX_QUICK):
            self.fatal = f"{child.name} cannot start (exit code {code}); see {log}"
            return
        child.failures += 1
        child.quick_failures += quick
        delay = min(2 ** (child.failures - 1), MAX_BACKOFF)
        child.say(f"exited with code {code}; restarting in {delay} s (log: {log})")
        child.restart_at = time.monotonic() + delay

    def stop(self, last=(), timeout=25, last_timeout=20):
        """Stop every child: all but `last` together, then `last` (e.g. the database)."""
        first = [c for c in self.children if c not in last]
        self._stop_group(first, timeout)
        self._stop_group(list(last), last_timeout)

    def _stop_group(self, children, timeout):
        live = [c for c in children if c.process is not None]
        for child in live:
            child.restart_at = None
            if child.running():
                child.signal_group(child.stop_signal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A leader that exited cleanly may leave helpers (ffmpeg) in its group: TERM them.
            for child in live:
                if not child.running() and child.group_alive():
                    child.signal_group(signal.SIGTERM)
            if not any(c.group_alive() for c in live):
                break
            time.sleep(0.1)
        for child in live:
            if child.group_alive():
                child.say(f"did not stop within {timeout} s: killing it")
                child.signal_group(signal.SIGKILL)
        for child in live:
            try:
                child.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            if child.reader is not None:
                child.reader.join(timeout=5)
