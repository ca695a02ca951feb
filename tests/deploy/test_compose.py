"""docker-compose.yml, .env.example, the Dockerfiles and the Prometheus example agree with each
other and with the services' real command lines. The YAML is read by PyYAML; where a compose
implementation is installed, its own `config` command reads the file too
(test_compose_engine.py)."""

import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from deploy.compose_env import interpolate, read_env_file, variables

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_SERVICES = ["downloader", "restreamer", "backfiller", "segment_coverage", "cutter"]
METRICS_PORTS = {"restreamer": 8000, "downloader": 8001, "backfiller": 8002, "cutter": 8003,
                 "segment_coverage": 8004}


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


@pytest.fixture(scope="module")
def compose_text():
    return read("docker-compose.yml")


@pytest.fixture(scope="module")
def example_env():
    return read_env_file(read(".env.example"))


@pytest.fixture(scope="module")
def compose(compose_text, example_env):
    """The compose file as docker compose sees it with .env.example as its .env."""
    return yaml.safe_load(interpolate(compose_text, example_env))


def test_compose_parses_into_services_and_volumes(compose_text):
    raw = yaml.safe_load(compose_text)
    assert set(raw) == {"services", "volumes"}
    assert set(PYTHON_SERVICES) <= set(raw["services"])
    assert {"postgres-primary", "postgres-standby"} <= set(raw["services"])


def test_every_service_restarts_stops_gracefully_and_uses_a_built_image(compose):
    for name, service in compose["services"].items():
        assert service["restart"] == "unless-stopped", name
        grace = re.fullmatch(r"(\d+)s", service["stop_grace_period"])
        assert grace and int(grace.group(1)) >= 20, name
        if service.get("profiles") == ["monitoring"]:
            continue  # third-party images (tests/deploy/test_monitoring_profile.py)
        image = re.fullmatch(r"streamarchive/([a-z_]+):0123456789ab", service["image"])
        assert image, (name, service["image"])
        module = image.group(1)
        if module != "postgres":
            assert module == name
            assert os.path.exists(os.path.join(ROOT, "docker", f"{module}.Dockerfile")), module


def test_segments_volume_is_shared_by_every_python_service(compose):
    for name in PYTHON_SERVICES:
        mounts = compose["services"][name]["volumes"]
        assert "segments:/mnt/segments" in mounts, name
    assert "segments" in compose["volumes"]


def test_published_ports_are_the_documented_ones(compose):
    for name, port in METRICS_PORTS.items():
        ports = compose["services"][name]["ports"]
        assert len(ports) == 1
        assert ports[0].endswith(f":{port}:{port}"), (name, ports)


def test_postgres_primary_or_standby_is_chosen_by_profile(compose, example_env):
    services = compose["services"]
    assert services["postgres-primary"]["profiles"] == ["primary"]
    assert services["postgres-standby"]["profiles"] == ["standby"]
    assert services["postgres-primary"]["environment"]["POSTGRES_ROLE"] == "primary"
    assert services["postgres-standby"]["environment"]["POSTGRES_ROLE"] == "standby"
    assert example_env["COMPOSE_PROFILES"] in ("primary", "standby", "")
    for name in PYTHON_SERVICES:
        assert "profiles" not in services[name], name


def test_every_variable_is_documented_in_env_example(compose_text):
    text = read(".env.example")
    documented = set(read_env_file(text))
    used = variables(compose_text)
    assert used - documented == set()
    # Each variable has a comment somewhere in the block of lines above it.
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            block = []
            for previous in reversed(lines[:i]):
                if not previous.strip():
                    break
                block.append(previous)
            assert any(b.startswith("#") for b in block), f"{line} has no comment above it"


def test_required_variables_fail_clearly_when_missing(compose_text):
    from deploy.compose_env import InterpolationError
    with pytest.raises(InterpolationError, match="IMAGE_TAG"):
        interpolate(compose_text, {})


def service_argv(compose, name):
    return shlex.split(compose["services"][name]["command"])


def accepted(module, args):
    result = subprocess.run([sys.executable, os.path.join(HERE, "argcheck.py"), module, *args],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    return result.returncode, (result.stdout + result.stderr).strip()


@pytest.fixture
def cutter_config_file(tmp_path):
    """The cutter's config path in the container, swapped for a real file with the example
    configuration (the cutter checks its config before it starts working)."""
    path = tmp_path / "cutter.json"
    path.write_text(read("docker", "cutter-config.example.json"))
    return str(path)


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_command_is_accepted_by_the_services_own_parser(compose, name, cutter_config_file,
                                                        tmp_path):
    args = service_argv(compose, name)
    # Container paths are swapped for writable local ones; the arguments stay as written.
    args = [cutter_config_file if a == "/etc/archive/cutter.json" else a for a in args]
    args = [str(tmp_path / "segments") if a == "/mnt/segments" else a for a in args]
    code, output = accepted(name, args)
    assert code == 0 and output.endswith("ACCEPTED"), output


@pytest.mark.parametrize("source", ["examplechannel", "--stream demo https://cdn.example/m.m3u8"])
def test_both_documented_downloader_sources_are_accepted(compose_text, example_env, source,
                                                         tmp_path):
    env = dict(example_env, DOWNLOADER_SOURCE=source,
               DOWNLOADER_ARGS="--important --twitch-auth-file /etc/archive/secrets/t")
    compose = yaml.safe_load(interpolate(compose_text, env))
    args = shlex.split(compose["services"]["downloader"]["command"])
    auth = tmp_path / "t"
    auth.write_text("oauthtoken\n")
    args = [str(auth) if a == "/etc/archive/secrets/t" else a for a in args]
    args = [str(tmp_path / "segments") if a == "/mnt/segments" else a for a in args]
    code, output = accepted("downloader", args)
    assert code == 0, output


def test_argcheck_rejects_an_unknown_flag():
    """The check above would be worthless if it accepted anything."""
    code, output = accepted("downloader", ["chan", "--base-dir", "/tmp", "--no-such-flag"])
    assert code == 2 and "--no-such-flag" in output


def test_dockerfiles_share_the_base_and_run_their_service():
    base = read("docker", "base.Dockerfile")
    assert re.search(r"^FROM python:3\.11-slim", base, re.M)
    assert re.search(r"^USER archive$", base, re.M)
    for name, port in METRICS_PORTS.items():
        text = read("docker", f"{name}.Dockerfile")
        assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M), name
        assert f'ENTRYPOINT ["python", "-m", "{name}"]' in text
        assert re.search(rf'HEALTHCHECK .*\n.*healthcheck", "{port}"\]', text), name
        assert text.rstrip().split("\n")[-1].startswith("ENTRYPOINT")
        # Root only for installing; the service runs as the unprivileged user.
        assert text.count("USER archive") == 1 and text.index("USER archive") > text.index("RUN")
        assert os.path.exists(os.path.join(ROOT, "docker", f"{name}.Dockerfile.dockerignore"))


def test_prometheus_example_scrapes_every_service():
    config = yaml.safe_load(read("prometheus", "prometheus.yml"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in METRICS_PORTS.items():
        targets = [t for c in jobs[name]["static_configs"] for t in c["targets"]]
        assert targets and all(t.endswith(f":{port}") for t in targets), name


def test_dockerfiles_copy_only_existing_paths_their_context_sends():
    for name in ["base"] + list(METRICS_PORTS):
        text = read("docker", f"{name}.Dockerfile")
        ignore = read("docker", f"{name}.Dockerfile.dockerignore").splitlines()
        sent = {line[1:] for line in ignore if line.startswith("!")}
        sources = re.findall(r"^COPY (\S+) ", text, re.M)
        assert sources, name
        for source in sources:
            assert os.path.exists(os.path.join(ROOT, source)), (name, source)
            assert source in sent, (name, source)
            if source != "docker/healthcheck.py":
                assert os.path.exists(os.path.join(ROOT, source, "pyproject.toml")), source


def test_healthcheck_reports_a_serving_and_a_dead_metrics_port():
    import http.server
    import threading

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(b"# HELP x\n")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    script = os.path.join(ROOT, "docker", "healthcheck.py")
    try:
        ok = subprocess.run([sys.executable, script, str(port)], capture_output=True, timeout=20)
        assert ok.returncode == 0, ok.stderr
    finally:
        server.shutdown()
        server.server_close()
    dead = subprocess.run([sys.executable, script, str(port)], capture_output=True, text=True,
                          timeout=20)
    assert dead.returncode == 1 and "unhealthy" in dead.stderr


def documented_postgres_settings():
    """Variables the postgres image reads: its setup scripts' documented ones, POSTGRES_ROLE
    (entrypoint.sh) and the official image's POSTGRES_PASSWORD."""
    names = {"POSTGRES_ROLE", "POSTGRES_PASSWORD"}
    for script in ("setup-primary.sh", "setup-standby.sh"):
        names |= set(re.findall(r"^#   ([A-Z][A-Z0-9_]+) ", read("postgres", script), re.M))
    return names


def test_postgres_services_set_only_settings_the_image_reads(compose):
    known = documented_postgres_settings()
    assert {"APP_PASSWORD", "PRIMARY_HOST", "REPLICATION_PASSWORD", "NODES_CSV"} <= known
    for name in ("postgres-primary", "postgres-standby"):
        service = compose["services"][name]
        assert set(service["environment"]) <= known, name
        assert "/var/lib/postgresql/data" in service["volumes"][0], name
    primary = compose["services"]["postgres-primary"]
    seed_mount = next(v for v in primary["volumes"] if ":/opt/archive/seed" in v)
    assert primary["environment"]["NODES_CSV"].startswith("/opt/archive/seed/"), seed_mount


def test_example_cutter_config_is_accepted_by_the_cutter():
    import json
    from cutter.config import parse_config
    locations = parse_config(json.loads(read("docker", "cutter-config.example.json")))
    assert list(locations) == ["archive"]
    # The container's uploads volume is where the local backend writes.
    assert locations["archive"].backend.directory == "/mnt/uploads"


@pytest.mark.parametrize("doc", ["production.md", "run-local.md"])
def test_files_the_docs_name_exist(doc):
    text = read("docs", doc)
    named = set(re.findall(r"`((?:docker|postgres|prometheus|scripts|cutter|uploader|docs)/"
                           r"[\w./-]*\w)`", text))
    named |= {m for m in re.findall(r"`\./([\w.-]+)`", text)}
    assert named
    # Files the operator creates (the defaults of .env.example) are not in the checkout.
    operator_files = {v[2:] for v in read_env_file(read(".env.example")).values()
                      if v.startswith("./")}
    for path in named - operator_files:
        assert os.path.exists(os.path.join(ROOT, path)), f"{doc} names {path}"


def test_example_dsn_matches_the_role_and_database_the_primary_creates(example_env):
    from urllib.parse import unquote, urlsplit
    dsn = urlsplit(example_env["DATABASE_DSN"])
    assert dsn.scheme == "postgresql"
    assert unquote(dsn.username) == example_env["DB_APP_USER"]
    assert unquote(dsn.password) == example_env["DB_APP_PASSWORD"]
    assert dsn.path.lstrip("/") == example_env["DB_NAME"]
    assert dsn.port == int(example_env["POSTGRES_PORT"])
