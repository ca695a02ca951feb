"""Child processes of the development tools (the demo origin, ./run-local, the test origin)
that must not outlive their parent."""

import shutil
import signal
import subprocess

SETPRIV = shutil.which("setpriv")


def with_parent_death_signal(argv: list, sig: int = signal.SIGTERM) -> list:
    """argv run so that the kernel sends it `sig` when the thread that started it dies without
    stopping it (kill -9, OOM), so no orphan keeps encoding or serving forever.

    util-linux's setpriv (always present on Debian) sets the signal and then execs argv, so the
    child keeps its pid. An exec wrapper, unlike a preexec_fn calling prctl(), is safe in a
    process with threads. The signal is in force from the moment setpriv execs the command
    (a parent killed in that first millisecond leaves it unset). Without setpriv (not Linux),
    argv is returned unchanged."""
    if SETPRIV is None:
        return list(argv)
    return [SETPRIV, "--pdeathsig", signal.Signals(sig).name[3:], "--", *argv]


def stop_ffmpeg(process: subprocess.Popen | None, grace: float = 5) -> None:
    """SIGINT lets ffmpeg finish its playlist; kill it if it does not exit within grace."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
