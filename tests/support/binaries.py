"""Programs from Debian packages that some tests need (./run-tests installs them as root), and
the one rule for anything a test needs that is missing: skip, but fail under CI=true."""

import os
import shutil

import pytest


def missing(message):
    """A dependency of the test is missing: skip it, or fail it under CI=true (where a missing
    install step must not pass as a green run)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require(name, package):
    """Path of program `name`; skip the test without it, or fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (Debian package {package}; ./run-tests installs it "
                "when run as root)")
    return path
