"""The command line of every service of a local node (pure: a Plan in, argv lists out)."""

import json
import sys
from dataclasses import dataclass

UPLOAD_LOCATION = "local"


@dataclass
class Service:
    name: str
    argv: list
    ready_url: str | None = None  # the next service starts once this answers


def _python(module, *args):
    return [sys.executable, "-u", "-m", module, *args]


def _metrics(plan, service):
    """Where a daemon serves /metrics: on the address the restreamer listens on (loopback
    unless --host shares the node), its port shifted by --port-offset."""
    return ["--metrics-host", plan.host, "--metrics-port", str(plan.port(service))]


def demo_origin_url(plan):
    return f"http://127.0.0.1:{plan.port('demo_origin')}/master.m3u8"


def service_commands(plan, dsn):
    """Services in start order (stopped in reverse)."""
    common = ["--log-level", plan.log_level]
    services = []
    stream = plan.stream
    if stream.kind == "demo":
        # The downloader polls an offline stream only every 20 s: start it once this is live.
        services.append(Service("demo_origin", _python(
            "demo_origin", "--port", str(plan.port("demo_origin")), *common),
            ready_url=demo_origin_url(plan)))
    services.append(Service("restreamer", _python(
        "restreamer", "--base-dir", plan.segments_dir, "--host", plan.host,
        "--port", str(plan.port("restreamer")), *common)))
    if stream.kind != "none":
        if stream.kind == "twitch":
            source = [stream.name]
        else:
            url = demo_origin_url(plan) if stream.kind == "demo" else stream.url
            source = ["--stream", stream.name, url]
        # Its peers give a stream without program date times the timeline they recorded.
        peers = [arg for peer in plan.peers for arg in ("--peer", peer)]
        services.append(Service("downloader", _python(
            "downloader", *source, "--base-dir", plan.segments_dir,
            "--qualities", plan.variants, *peers,
            *_metrics(plan, "downloader"), *common)))
    backfill = ["--base-dir", plan.segments_dir, "--database", dsn,
                "--localhost", plan.node_name,
                *_metrics(plan, "backfiller"), *common]
    for peer in plan.peers:
        backfill += ["--node", peer]
    services.append(Service("backfiller", _python("backfiller", *backfill)))
    # Its page shows this node's maps first, then each peer's (--node and the nodes table).
    coverage = ["--base-dir", plan.segments_dir, "--database", dsn,
                "--localhost", plan.node_name,
                *_metrics(plan, "segment_coverage"), *common]
    for peer in plan.peers:
        coverage += ["--node", peer]
    services.append(Service("segment_coverage", _python("segment_coverage", *coverage)))
    services.append(Service("cutter", _python(
        "cutter", "--name", plan.node_name, "--database", dsn,
        "--base-dir", plan.segments_dir, "--config", cutter_config_path(plan),
        *_metrics(plan, "cutter"), *common)))
    # One person on their own machine: no accounts, so loopback only (whatever --host says).
    # It plays video from this node's restreamer, then the peers'.
    editor = ["--database", dsn, "--restreamer-url", plan.restreamer_url,
              "--location", UPLOAD_LOCATION, "--host", "127.0.0.1",
              "--port", str(plan.port("editor")), "--no-auth", *common]
    for peer in plan.peers:
        editor += ["--restreamer-url", peer]
    services.append(Service("editor", _python("editor", *editor)))
    return services


def cutter_config_path(plan):
    return plan.path("cutter-config.json")


def cutter_config(plan):
    """One upload location, 'local', writing finished videos (MP4) into DATA/uploads, with a
    JSON sidecar of their metadata. Format: cutter/cutter/config.py."""
    return {
        "locations": {
            UPLOAD_LOCATION: {
                "backend": "local",
                "cut_type": "fast",
                "options": {"directory": plan.path("uploads"), "write_info": True},
            },
        },
    }


def cutter_config_text(plan):
    return json.dumps(cutter_config(plan), indent=2) + "\n"
