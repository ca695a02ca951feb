"""scripts/docker-check: its pure parts always; the whole check (10-15 minutes, root, a Docker
engine it may start) only with DOCKER_CHECK=1."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from dockercheck import archive  # noqa: E402
from dockercheck.envfile import render_env  # noqa: E402


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


def test_env_keeps_the_example_and_sets_only_what_is_given():
    example = read(".env.example")
    text = render_env(example, {"NODE_NAME": "node-b", "COMPOSE_PROFILES": "standby",
                                "DOWNLOADER_SOURCE": "--stream demo http://10.0.0.1:1/m.m3u8"})
    lines, original = text.splitlines(), example.splitlines()
    assert len(lines) == len(original)
    changed = [(a, b) for a, b in zip(original, lines) if a != b]
    assert sorted(b for _, b in changed) == [
        "COMPOSE_PROFILES=standby", "DOWNLOADER_SOURCE=--stream demo http://10.0.0.1:1/m.m3u8",
        "NODE_NAME=node-b"]


@pytest.mark.parametrize("values, message", [
    ({"NO_SUCH_SETTING": "1"}, "not in .env.example: NO_SUCH_SETTING"),
    ({"DB_APP_PASSWORD": "a#b"}, "DB_APP_PASSWORD"),
    ({"DB_APP_PASSWORD": "$x"}, "DB_APP_PASSWORD"),
])
def test_env_refuses_unknown_names_and_values_parsers_disagree_on(values, message):
    with pytest.raises(ValueError, match=message):
        render_env(read(".env.example"), values)


def test_longest_gap_finds_the_hole_and_the_uncovered_ends():
    from datetime import datetime, timedelta

    from common.segments import parse_segment_path
    names = ["00:00.000000-2.000", "00:02.000000-2.000", "00:20.000000-2.000"]
    segs = [parse_segment_path(f"/s/v/2026-01-01T00/{n}-full-{'A' * 43}.ts") for n in names]
    t0 = datetime(2026, 1, 1)
    gap_start, gap = archive.longest_gap(segs, t0, t0 + timedelta(seconds=22))
    assert (gap_start, gap) == (t0 + timedelta(seconds=4), timedelta(seconds=16))
    assert archive.longest_gap(segs, t0, t0 + timedelta(seconds=60))[1] == timedelta(seconds=38)
    assert archive.longest_gap([], t0, t0 + timedelta(seconds=5))[1] == timedelta(seconds=5)
    assert len(archive.in_range(segs, t0 + timedelta(seconds=1), t0 + timedelta(seconds=21))) == 2


@pytest.mark.skipif(os.environ.get("DOCKER_CHECK") != "1",
                    reason="the Docker check runs with DOCKER_CHECK=1 (10-15 min, as root)")
@pytest.mark.slow
def test_docker_check_passes():
    result = subprocess.run([os.path.join(ROOT, "scripts", "docker-check")],
                            capture_output=True, text=True, timeout=45 * 60)
    summary = result.stdout[result.stdout.rfind("docker-check "):]
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert summary.startswith("docker-check PASSED")


def test_every_image_of_ours_has_packages_the_check_imports():
    """The check imports every module of the packages each Dockerfile copies: a Dockerfile it
    could not read would leave its image's imports unchecked."""
    from dockercheck.main import image_packages
    names = [f.removesuffix(".Dockerfile") for f in os.listdir(os.path.join(ROOT, "docker"))
             if f.endswith(".Dockerfile")]
    assert {"base", "downloader", "editor", "demo_origin"} <= set(names)
    for name in names:
        packages = image_packages(name)
        assert packages, name
        for package in packages:
            assert os.path.exists(os.path.join(ROOT, package, "pyproject.toml")), (name, package)
    assert image_packages("cutter") == ["uploader", "cutter"]
    assert image_packages("base-ffmpeg") == ["common"]
    assert image_packages("postgres") == []
