"""prometheus/: the alerting rules pass their unit tests on synthetic series (Debian's
promtool), every rule is tested firing and not firing and says what to do, the example
configs load (promtool, amtool), and an alert reaches the webhook receiver through Debian's
Alertmanager with alertmanager.yml's routes."""

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

from support.binaries import require
from support.waiting import free_port, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMETHEUS_DIR = os.path.join(ROOT, "prometheus")


def load(name):
    with open(os.path.join(PROMETHEUS_DIR, name)) as f:
        return yaml.safe_load(f)


def rules():
    return [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]


def run(*args):
    return subprocess.run(args, cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60)


def test_alert_rules_pass_their_unit_tests():
    result = run(require("promtool", "prometheus"), "test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_quiet_and_says_what_to_do():
    cases = [case for test in load("alerts.test.yml")["tests"]
             for case in test.get("alert_rule_test", [])]
    for rule in rules():
        name = rule["alert"]
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in mine), f"{name} is never tested firing"
        assert any(not case.get("exp_alerts") for case in mine), f"{name} is never tested quiet"
        summary = rule["annotations"]["summary"]
        # "what is wrong: what to do" (the tests compare the rendered text in full)
        assert ": " in summary and len(summary) > 80, name
        assert rule["labels"]["severity"] in ("critical", "warning"), name


def test_example_prometheus_config_loads_the_alerts():
    result = run(require("promtool", "prometheus"), "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout + result.stderr
    assert load("prometheus.yml")["rule_files"] == ["alerts.yml"]


def test_example_alertmanager_config_is_valid():
    result = run(require("amtool", "prometheus-alertmanager"), "check-config",
                 "alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr


class Receiver:
    """A webhook receiver on loopback, standing in for the operators' chat bridge."""

    def __init__(self):
        self.posts = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alertmanager"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_an_alert_reaches_the_webhook_receiver(tmp_path, receiver):
    binary = require("prometheus-alertmanager", "prometheus-alertmanager")
    config = load("alertmanager.yml")
    # Only the receiver's address, and no half-minute wait before the first notification.
    config["receivers"][0]["webhook_configs"][0]["url"] = receiver.url
    config["route"]["group_wait"] = "0s"
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(tmp_path / "alertmanager.log", "wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="], stdout=log, stderr=subprocess.STDOUT)
    try:
        api = f"http://127.0.0.1:{port}/api/v2"
        wait_for(lambda: _answers(api + "/status"), timeout=30, message="alertmanager to start")
        summary = "cutter on node-a:8003 does not answer /metrics: start it again."
        alert = {"labels": {"alertname": "ServiceDown", "severity": "critical",
                            "instance": "node-a:8003", "job": "cutter"},
                 "annotations": {"summary": summary}}
        assert requests.post(api + "/alerts", json=[alert], timeout=5).status_code == 200
        wait_for(lambda: receiver.posts, timeout=30, message="the webhook notification")
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
    path, body = receiver.posts[0]
    assert path == "/alertmanager" and body["receiver"] == "operators"
    assert body["status"] == "firing"
    assert [a["annotations"]["summary"] for a in body["alerts"]] == [summary]
    assert body["groupLabels"] == {"alertname": "ServiceDown", "instance": "node-a:8003"}


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
