"""./build against a stand-in `docker` that records its arguments (no Docker engine here), in a
throwaway git repository so that clean and dirty trees can both be tested."""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES = ["downloader", "restreamer", "backfiller", "cutter", "segment_coverage"]


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(os.path.join(ROOT, "build"), repo / "build")
    shutil.copytree(os.path.join(ROOT, "docker"), repo / "docker")
    (repo / "postgres").mkdir()
    (repo / "postgres" / "Dockerfile").write_text("FROM postgres:15\n")
    (repo / "common" / "common").mkdir(parents=True)
    (repo / "common" / "common" / "schema.sql").write_text("SELECT 1;\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "x")
    return repo


@pytest.fixture
def docker_log(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker.log"
    fake = bin_dir / "docker"
    context = tmp_path / "context.tar"
    # Records its arguments; a context on stdin ("-", the postgres image) is saved for a look.
    fake.write_text(f'#!/bin/bash\necho "$*" >> {log}\n'
                    f'if [ "${{@: -1}}" = - ]; then cat > {context}; fi\n')
    fake.chmod(0o755)
    return bin_dir, log


def build(repo, docker_log, *args):
    bin_dir, log = docker_log
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.pop("IMAGE_PREFIX", None)
    result = subprocess.run([str(repo / "build"), *args], capture_output=True, text=True,
                            env=env, cwd="/")
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_clean_tree_is_tagged_with_the_commit(repo, docker_log):
    commit = git(repo, "rev-parse", "--short=12", "HEAD")
    result, calls = build(repo, docker_log)
    assert result.returncode == 0, result.stderr
    assert f"IMAGE_TAG={commit}" in result.stdout.splitlines()
    tags = [c.split(" -t ")[1].split()[0] for c in calls]
    for service in SERVICES + ["postgres"]:
        assert f"streamarchive/{service}:{commit}" in tags
    # The base images are built first, once each, and every service builds on one of them.
    assert tags[:1] in (["streamarchive/base:" + commit], ["streamarchive/base-ffmpeg:" + commit])
    assert sorted(t for t in tags if "/base" in t) == [f"streamarchive/base-ffmpeg:{commit}",
                                                       f"streamarchive/base:{commit}"]
    # The postgres image's context is a tarball of just what it uses, from the repo root.
    assert f"build -f postgres/Dockerfile -t streamarchive/postgres:{commit} -" in calls
    listing = subprocess.run(["tar", "-tf", str(repo.parent / "context.tar")],
                             capture_output=True, text=True, check=True).stdout.split()
    assert sorted(listing) == ["common/common/schema.sql", "postgres/", "postgres/Dockerfile"]
    cutter = next(c for c in calls if "docker/cutter.Dockerfile" in c)
    assert f"BASE_IMAGE=streamarchive/base-ffmpeg:{commit}" in cutter
    downloader = next(c for c in calls if "docker/downloader.Dockerfile" in c)
    assert f"BASE_IMAGE=streamarchive/base:{commit}" in downloader
    assert not any(c.startswith("push") for c in calls)


def test_dirty_tree_gets_a_dirty_tag_and_is_never_pushed(repo, docker_log):
    commit = git(repo, "rev-parse", "--short=12", "HEAD")
    # An operator's files next to the compose file are not image sources: still clean.
    (repo / ".env").write_text("NODE_NAME=a\n")
    (repo / "secrets").mkdir()
    (repo / "secrets" / "token").write_text("x\n")
    result, _ = build(repo, docker_log, "downloader")
    assert f"IMAGE_TAG={commit}" in result.stdout.splitlines()
    # A changed file that goes into an image: dirty.
    (repo / "docker" / "healthcheck.py").write_text("# changed\n")
    result, calls = build(repo, docker_log, "downloader")
    assert result.returncode == 0, result.stderr
    assert f"IMAGE_TAG={commit}-dirty" in result.stdout.splitlines()
    assert calls[-1].endswith(f"-t streamarchive/downloader:{commit}-dirty .")
    result, _ = build(repo, docker_log, "--push", "downloader")
    assert result.returncode == 2 and "refusing to push" in result.stderr
    # So is a new, untracked file in a package.
    git(repo, "checkout", "-q", "--", "docker/healthcheck.py")
    (repo / "common" / "common" / "new.py").write_text("")
    result, _ = build(repo, docker_log, "downloader")
    assert f"IMAGE_TAG={commit}-dirty" in result.stdout.splitlines()


def test_push_and_prefix(repo, docker_log):
    commit = git(repo, "rev-parse", "--short=12", "HEAD")
    result, calls = build(repo, docker_log, "--push", "--prefix", "reg.example.org/a", "cutter")
    assert result.returncode == 0, result.stderr
    assert calls[-1] == f"push reg.example.org/a/cutter:{commit}"


def test_bad_arguments_are_one_line_errors(repo, docker_log):
    result, calls = build(repo, docker_log, "nosuchservice")
    assert result.returncode == 2 and calls == []
    assert result.stderr.strip().startswith("build: error: unknown service nosuchservice")
    result, _ = build(repo, docker_log, "--frobnicate")
    assert result.returncode == 2 and "unknown option" in result.stderr
    os.remove(repo / "postgres" / "Dockerfile")
    result, calls = build(repo, docker_log)
    assert result.returncode == 2 and "missing postgres/Dockerfile" in result.stderr
    assert calls == []
