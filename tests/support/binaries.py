"""Programs from Debian packages that some tests need (./run-tests installs them as root)."""

import os
import shutil

import pytest


def require(name, package):
    """Path of program `name`; skip the test without it, or fail under CI=true."""
    path = shutil.which(name)
    if path is None:
        message = (f"{name} is not installed (Debian package {package}; ./run-tests installs it "
                   "when run as root)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
