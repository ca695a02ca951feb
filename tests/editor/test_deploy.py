"""The editor's place in the production files: its compose service (with .env.example as the
.env) is accepted by the editor's own command line, its image is built on the shared base and
by ./build, and what the image installs carries the page."""

import os
import re
import shlex
import subprocess
import sys

import yaml

from deploy.compose_env import interpolate, read_env_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def editor_service():
    env = read_env_file(read(".env.example"))
    compose = yaml.safe_load(interpolate(read("docker-compose.yml"), env))
    return compose["services"]["editor"], env


def test_compose_service_is_accepted_by_the_editors_parser():
    service, env = editor_service()
    assert service["image"] == f"streamarchive/editor:{env['IMAGE_TAG']}"
    assert service["ports"] == ["0.0.0.0:8005:8005"]
    assert service["restart"] == "unless-stopped" and "profiles" not in service
    assert service["environment"]["EDITOR_DATABASE"] == env["DATABASE_DSN"]
    args = shlex.split(service["command"])
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "deploy", "argcheck.py"), "editor", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip().endswith("ACCEPTED"), result.stderr
    # Both restreamers of the example, as two URLs the page falls back between.
    from editor.main import serve_parser
    parsed = serve_parser().parse_args(args)
    assert parsed.restreamer_url == env["EDITOR_RESTREAMER_URLS"].split(",")
    assert parsed.location == ["archive"] and parsed.host == "0.0.0.0" and parsed.port == 8005


def test_image_is_built_on_the_shared_base_and_by_build():
    dockerfile = read("docker", "editor.Dockerfile")
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", dockerfile, re.M)
    assert dockerfile.rstrip().endswith('ENTRYPOINT ["python", "-m", "editor"]')
    assert 'healthcheck", "8005"]' in dockerfile
    sent = {line[1:] for line in read("docker", "editor.Dockerfile.dockerignore").splitlines()
            if line.startswith("!")}
    assert set(re.findall(r"^COPY (\S+) ", dockerfile, re.M)) <= sent
    build = read("build")
    assert re.search(r"^ALL=\(.*\beditor\b.*\)$", build, re.M)
    assert "editor" in re.search(r"IMAGE_SOURCES=\(([^)]*)\)", build).group(1).split()
    # No ffmpeg in the editor's image: it never touches video.
    with_ffmpeg = re.search(r'^WITH_FFMPEG="([^"]*)"$', build, re.M).group(1).split()
    assert "cutter" in with_ffmpeg and "editor" not in with_ffmpeg


def test_the_package_ships_the_page():
    import tomllib
    with open(os.path.join(ROOT, "editor", "pyproject.toml"), "rb") as f:
        data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["editor"]
    assert "static/**/*" in data and "templates/**/*" in data
