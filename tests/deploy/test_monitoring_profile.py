"""docker-compose.yml's `monitoring` profile fits the files it mounts: Prometheus finds its
rules and its Alertmanager, Grafana its data source and dashboards (no Docker engine needed;
the images are third-party, see docs/production.md for what was run)."""

import os

import pytest
import yaml

from deploy.compose_env import interpolate, read_env_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITORING = {"prometheus", "alertmanager", "grafana"}


def read(*path):
    with open(os.path.join(ROOT, *path)) as f:
        return f.read()


@pytest.fixture(scope="module")
def services():
    """Services as compose sees them with .env.example, the configs left at their defaults
    (the checkout's files)."""
    env = read_env_file(read(".env.example"))
    del env["PROMETHEUS_CONFIG"], env["ALERTMANAGER_CONFIG"]
    return yaml.safe_load(interpolate(read("docker-compose.yml"), env))["services"]


def mounts(service):
    """{container path: host path} of a service's bind mounts (named volumes left out)."""
    found = {}
    for volume in service["volumes"]:
        host, container = volume.split(":")[:2]
        if host.startswith("./"):
            found[container] = host
    return found


def test_the_profile_runs_prometheus_alertmanager_and_grafana_only(services):
    in_profile = {name for name, s in services.items() if "monitoring" in s.get("profiles", ())}
    assert in_profile == MONITORING
    for name in MONITORING:
        assert services[name]["profiles"] == ["monitoring"]
        for host in mounts(services[name]).values():
            assert os.path.exists(os.path.join(ROOT, host)), (name, host)
        # Published on MONITORING_BIND, loopback by default.
        assert all(p.startswith("127.0.0.1:") for p in services[name]["ports"]), name


def test_prometheus_finds_its_rules_and_alertmanager(services):
    prometheus = mounts(services["prometheus"])
    config_path = "/etc/prometheus/prometheus.yml"
    assert f"--config.file={config_path}" in services["prometheus"]["command"]
    config = yaml.safe_load(read(prometheus[config_path]))
    for rule_file in config["rule_files"]:
        assert os.path.join(os.path.dirname(config_path), rule_file) in prometheus
    target = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0]
    host, port = target.split(":")
    assert host in services and services[host]["ports"][0].endswith(f":{port}:{port}")
    alertmanager = mounts(services["alertmanager"])
    config_flag = next(a for a in services["alertmanager"]["command"]
                       if a.startswith("--config.file="))
    assert config_flag.split("=", 1)[1] in alertmanager


def test_grafana_finds_its_data_source_and_dashboards(services):
    grafana = mounts(services["grafana"])
    provisioning = grafana["/etc/grafana/provisioning"]
    source = yaml.safe_load(read(provisioning, "datasources", "prometheus.yml"))
    url = source["datasources"][0]["url"]
    assert url == "http://prometheus:9090" and "prometheus" in services
    provider = yaml.safe_load(read(provisioning, "dashboards", "archive.yml"))["providers"][0]
    dashboards = grafana[provider["options"]["path"]]
    assert os.listdir(os.path.join(ROOT, dashboards)) == ["archive-overview.json"]
