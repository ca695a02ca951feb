"""What a local node tells its user once it is up: where to look and what to type."""

import shlex

from .services import UPLOAD_LOCATION, demo_origin_url


def banner(plan, dsn, python):
    r = plan.restreamer_url
    q = shlex.quote
    lines = ["", "=" * 78, f"Node '{plan.node_name}' is running. Data: {plan.data_dir}", ""]
    stream = plan.stream.name
    if stream:
        lines += [
            "Watch the last minutes (ffplay, VLC or mpv):",
            f"  ffplay {r}/playlist/{stream}/source.m3u8",
            f"  all variants: {r}/playlist/{stream}.m3u8",
        ]
    else:
        lines += ["This node records nothing itself; it backfills from: " + ", ".join(plan.peers)]
    if plan.stream.kind == "demo":
        lines.append(f"  demo origin: {demo_origin_url(plan)}")
    lines += [
        "",
        f"Coverage page:   {r}/coverage/",
        f"Archive listing: {r}/files",
        "Metrics:",
        f"  restreamer {r}/metrics",
    ]
    for service in ("downloader", "backfiller", "cutter", "segment_coverage"):
        if service == "downloader" and plan.stream.kind == "none":
            continue
        lines.append(f"  {service:<10} http://127.0.0.1:{plan.port(service)}/metrics")
    lines += [
        "",
        f"Logs: {plan.path('logs')}/SERVICE.log    Uploads: {plan.path('uploads')}",
        f"Database: {dsn}",
    ]
    if stream:
        uploader = f"{q(python)} -m uploader --database {q(dsn)}"
        lines += [
            "",
            "Cut a highlight of the last 40 seconds (waits a few seconds before the end):",
            f"  ID=$({uploader} events create --stream {stream} "
            "--start $(date -u -d '-50 sec' +%FT%T) --end $(date -u -d '-10 sec' +%FT%T) "
            "--description 'my highlight' --quiet)",
            f"  {uploader} events edit $ID --title 'My highlight' "
            f"--description 'Cut by run-local' --location {UPLOAD_LOCATION} "
            "--video-start START --video-end END",
            f"  watch -n1 {uploader} events show $ID",
        ]
    lines += ["", "Stop with Ctrl-C.", "=" * 78, ""]
    return "\n".join(lines)
