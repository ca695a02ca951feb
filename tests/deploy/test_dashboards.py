"""prometheus/grafana/: every panel query of the dashboard returns a series from Debian's
Prometheus scraping a real ./run-local node (with the example prometheus.yml's jobs, and its
own restreamer as a backfill peer) after one cut; the alerting rules evaluate there without
errors; and the provisioning files fit the dashboard."""

import json
import math
import os
import subprocess
import time
from datetime import timedelta

import pytest
import requests
import yaml

from common import database
from deploy.test_run_local import Node, iso, uploader, wait_for_clean_window, wait_for_state
from support.binaries import require
from support.waiting import free_port, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMETHEUS_DIR = os.path.join(ROOT, "prometheus")
GRAFANA_DIR = os.path.join(PROMETHEUS_DIR, "grafana")
DASHBOARD = os.path.join(GRAFANA_DIR, "dashboards", "archive-overview.json")
# Grafana's own variable, which Grafana sets from the scrape interval; 15 s windows hold 15
# scrapes here.
RATE_INTERVAL = "15s"


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def panel_queries():
    """(panel title, expr) of every query of every panel."""
    return [(panel["title"], target["expr"]) for panel in dashboard()["panels"]
            if panel["type"] != "row" for target in panel["targets"]]


def load_yaml(*parts):
    with open(os.path.join(GRAFANA_DIR, *parts)) as f:
        return yaml.safe_load(f)


def test_dashboard_fits_the_provisioning():
    board = dashboard()
    source = load_yaml("provisioning", "datasources", "prometheus.yml")["datasources"][0]
    provider = load_yaml("provisioning", "dashboards", "archive.yml")["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == source["uid"] and source["type"] == "prometheus"
        assert panel["title"] and panel["description"] and panel["targets"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == source["uid"]
    # What the operators asked to see at a glance.
    queries = " ".join(expr for _, expr in panel_queries())
    for metric in ("downloader_newest_segment_timestamp_seconds", "segment_coverage_holes",
                   "segment_coverage_partials_chosen", "backfiller_bytes_backfilled_total",
                   "backfiller_peer_errors_total", "http_requests_total",
                   "http_request_latency_seconds_bucket", "cutter_events",
                   "cutter_upload_normalized_latency_seconds", "cut_normalized_latency_seconds",
                   "segments_filesystem_avail_bytes"):
        assert metric in queries, metric


class Prometheus:
    """Debian's prometheus server, scraping every second."""

    def __init__(self, tmp_path, config):
        self.binary = require("prometheus", "prometheus")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.log = open(tmp_path / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, expr):
        answer = requests.get(self.url + "/api/v1/query", params={"query": expr},
                              timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(20)
        self.log.close()


def scrape_config(offset):
    """The example prometheus.yml, its targets moved to this machine's ports (the example's
    are the default ports) and scraped every second; no Alertmanager."""
    with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [os.path.join(PROMETHEUS_DIR, name) for name in config["rule_files"]]
    config.pop("alerting")
    for job in config["scrape_configs"]:
        job.pop("scrape_interval", None)
        port = int(job["static_configs"][0]["targets"][0].rsplit(":", 1)[1])
        job["static_configs"] = [{"targets": [f"127.0.0.1:{port + offset}"]}]
    return config


@pytest.fixture
def node(tmp_path, db_dsn):
    node = Node(tmp_path, db_dsn)
    # The node's own restreamer as a backfill peer (under another name): the backfill panels
    # then have a peer to show.
    conn = database.DBManager(db_dsn).get_conn()
    database.query(conn, "INSERT INTO nodes (name, url) VALUES ('self', %s)", node.url)
    conn.close()
    node.start()
    yield node
    if node.process.poll() is None:
        node.stop()
    node.kill_leftovers()


@pytest.fixture
def prometheus(tmp_path, node):
    server = Prometheus(tmp_path, scrape_config(node.offset))
    yield server
    server.stop()


@pytest.mark.slow
def test_every_panel_query_returns_a_series_after_a_cut(node, prometheus):
    wait_for(lambda: prometheus.proc.poll() is not None or _ready(prometheus.url), timeout=30,
             message="prometheus to start")
    assert prometheus.proc.poll() is None, "prometheus exited"
    entries = wait_for_clean_window(node, time.monotonic() + 120, min_segments=2)
    start = entries[0][0] + timedelta(seconds=0.5)
    end = start + timedelta(seconds=2)
    event_id = uploader(node.dsn, "events", "create", "--event-start", iso(start))
    uploader(node.dsn, "events", "edit", event_id, "--video-start", iso(start),
             "--video-end", iso(end), "--title", "t", "--description", "d",
             "--stream", "demo", "--location", "local")
    # The cutter takes an event once its end is 30 s old (cutter.jobs.RECORDING_MARGIN).
    wait_for_state(node, event_id, "DONE", time.monotonic() + 75)
    wait_for(lambda: prometheus.query('cutter_uploads_total{outcome="done"} > 0'), timeout=20,
             message="a scrape of the cutter after the cut")
    # segment_coverage checks once a minute; its first check found no stream yet.
    wait_for(lambda: prometheus.query("segment_coverage_holes"), timeout=70,
             message="segment_coverage's first check of the stream")

    empty = [(title, expr) for title, expr in panel_queries()
             if not prometheus.query(expr.replace("$__rate_interval", RATE_INTERVAL))]
    assert not empty, f"panel queries without a series: {empty}"
    # The cut and its upload are in the cut-time panel as numbers, not only as series.
    cut_time = [expr for title, expr in panel_queries() if "per minute of video" in title]
    assert len(cut_time) == 2  # the upload, the cut
    for expr in cut_time:
        values = [float(s["value"][1]) for s in prometheus.query(expr)]
        assert values and all(math.isfinite(v) and v > 0 for v in values), (expr, values)
    # The alerting rules run on real data without errors (e.g. no many-to-many matches).
    wait_for(lambda: all(r.get("lastEvaluation", "").startswith("2") for r in _rules(prometheus)),
             timeout=10, message="every rule evaluated")
    rules = _rules(prometheus)
    assert rules and all(r["health"] == "ok" for r in rules), \
        [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]


def _rules(prometheus):
    groups = requests.get(prometheus.url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _ready(url):
    try:
        return requests.get(url + "/-/ready", timeout=2).status_code == 200
    except requests.RequestException:
        return False
