"""What a local node tells its user once it is up: where to look and what to type."""

import os
import shlex
import urllib.parse

from .options import user_cwd
from .services import UPLOAD_LOCATION, demo_origin_url


def short_path(path):
    """PATH relative to the current directory when it lies inside it (shorter to type)."""
    rel = os.path.relpath(path, user_cwd())
    return rel if not rel.startswith("..") else path


def banner(plan, dsn, python):
    """The text, as a list of lines."""
    python = short_path(python)
    r = plan.restreamer_url
    q = shlex.quote
    lines = ["", "=" * 78, f"Node '{plan.node_name}' is running. Data: {plan.data_dir}", "",
             f"Editor (mark moments, send them to the cutter): {plan.editor_url}", ""]
    stream = plan.stream.name
    if stream:
        lines += [
            "Watch the last minutes (ffplay, VLC or mpv):",
            f"  ffplay {r}/playlist/{stream}/source.m3u8",
            f"  all variants: {r}/playlist/{stream}.m3u8",
        ]
    else:
        lines += ["This node records nothing itself; it backfills from: " + ", ".join(plan.peers)]
        first = urllib.parse.urlsplit(plan.peers[0]) if plan.peers else None
        if first and first.port:
            origin = f"http://{first.hostname}:{first.port + 10}/master.m3u8"
            lines += ["To record as well (if that node runs the demo stream), restart with",
                      f"  --stream {origin} --stream-name demo"]
    if plan.stream.kind == "demo":
        lines.append(f"  demo origin: {demo_origin_url(plan)}")
    lines += [
        "",
        f"Coverage page:   {r}/coverage/",
        f"Archive listing: {r}/files",
        "Metrics:",
        f"  {'restreamer':<17} {r}/metrics",
    ]
    lines.append(f"  {'editor':<17} {plan.editor_url}metrics")
    for service in ("downloader", "backfiller", "cutter", "segment_coverage"):
        if service == "downloader" and plan.stream.kind == "none":
            continue
        lines.append(f"  {service:<17} http://127.0.0.1:{plan.port(service)}/metrics")
    lines += [
        "",
        f"Logs: {plan.path('logs')}/SERVICE.log    Uploads: {plan.path('uploads')}",
        f"Database: {dsn}",
    ]
    if stream:
        uploader = f"{q(python)} -m uploader"
        lines += [
            "",
            "The editor above plays the recording and sends marked moments to the cutter. The",
            "same from a shell, with the operator CLI:",
            "Once the node has recorded for a minute, pick the 40 seconds that ended 10 seconds",
            "ago (the cutter takes an event once its end is 30 s old) and watch it get cut:",
            f"  export UPLOADER_DATABASE={q(dsn)}",
            "  START=$(date -u -d '-50 sec' +%FT%T) END=$(date -u -d '-10 sec' +%FT%T)",
            f"  ID=$({uploader} events create --event-start $START --description 'my highlight')",
            f"  {uploader} events edit $ID --video-start $START --video-end $END \\",
            f"      --title 'My highlight' --description 'Cut by run-local' --stream {stream} \\",
            f"      --location {UPLOAD_LOCATION}",
            f"  watch -n1 {uploader} events show $ID    # EDITED -> CLAIMED -> FINALIZING -> DONE",
            f"The video lands in {plan.path('uploads')} (video_link shows it).",
        ]
    lines += ["", "Stop with Ctrl-C.", "=" * 78, ""]
    return lines
