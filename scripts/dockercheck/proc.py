"""Running commands and reporting, for the check."""

import subprocess
import sys
import time


class CheckFailed(Exception):
    """A step failed; the message says what and, where it can, why."""


def say(message):
    print(f"docker-check: {message}", file=sys.stderr, flush=True)


def run(argv, check=True, timeout=300, input=None, env=None, capture=True):
    """Run argv; on failure raise CheckFailed with the command and the end of its output."""
    try:
        result = subprocess.run(argv, capture_output=capture, text=True, timeout=timeout,
                                input=input, env=env)
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"timed out after {timeout} s: {' '.join(argv)}") from None
    if check and result.returncode != 0:
        output = ((result.stdout or "") + (result.stderr or "")).strip().splitlines()[-15:]
        raise CheckFailed(f"exit {result.returncode}: {' '.join(argv)}\n  "
                          + "\n  ".join(output))
    return result


def wait_for(what, condition, timeout, interval=1.0):
    """Poll condition() until it returns something true; return it, or raise CheckFailed."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (OSError, ValueError, KeyError, CheckFailed) as e:
            last_error = e
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise CheckFailed(f"{what}: not within {timeout} s{detail}")
        time.sleep(interval)
