"""What the soak checks at the end, each as a figure: seconds of the origin's timeline a node
lacks, files whose bytes do not match their name, temp files, events uploaded twice or left
without a video or a useful error. Pure functions over what is on disk and in the database."""

import glob
import json
import os
from collections import Counter
from datetime import timedelta

from common.segment_files import hash_file
from common.segments import parse_segment_path

TOLERANCE = timedelta(milliseconds=50)  # timestamps of one segment on two machines


def segment_files(segments_dir, stream):
    """parse_segment_path of every file of the stream (unparsable names are skipped)."""
    for path in glob.glob(os.path.join(segments_dir, stream, "*", "*", "*.ts")):
        try:
            yield parse_segment_path(path)
        except ValueError:
            continue


def merged(intervals):
    out = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + TOLERANCE:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def uncovered(start, end, covered):
    """Length of [start, end) outside the merged intervals `covered`."""
    missing = end - start
    for c0, c1 in covered:
        overlap = min(end, c1) - max(start, c0)
        if overlap > timedelta(0):
            missing -= overlap
    return max(missing, timedelta(0))


def missing_seconds(published, node_segments, excluded=lambda segment: False):
    """(seconds missing, [(variant, start, seconds)] worst first) of the published segments
    that the node's full segments (by variant) do not cover."""
    covered = {v: merged((s.start, s.start + s.duration) for s in segs if s.type == "full")
               for v, segs in node_segments.items()}
    total, holes = timedelta(0), []
    for segment in published:
        if excluded(segment):
            continue
        gap = uncovered(segment.start, segment.end, covered.get(segment.variant, []))
        if gap > TOLERANCE:
            total += gap
            holes.append((segment.variant, segment.start, gap.total_seconds()))
    return total.total_seconds(), sorted(holes, key=lambda h: -h[2])


def bad_files(segments):
    """(files whose bytes do not hash to their name, temp files)."""
    bad, temps = [], []
    for segment in segments:
        if segment.type == "temp":
            temps.append(segment.path)
        elif hash_file(segment.path) != segment.hash:
            bad.append(segment.path)
    return bad, temps


def uploads(upload_dirs):
    """(Counter of titles of finished videos, [leftover temporary upload files])."""
    titles, leftovers = Counter(), []
    for directory in upload_dirs:
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            if name.startswith(".") or name.endswith(".tmp"):
                leftovers.append(path)
            elif name.endswith(".json"):
                with open(path) as f:
                    info = json.load(f)
                if os.path.exists(os.path.join(directory, info["file"])):
                    titles[info["title"]] += 1
    return titles, leftovers


def event_states(conn, ids):
    """{id: (state, error, video_title)} of the events."""
    with conn.cursor() as cur:
        cur.execute("SELECT id::text, state::text, error, video_title FROM events "
                    "WHERE id::text = ANY(%s)", (list(ids),))
        return {row[0]: row[1:] for row in cur.fetchall()}


def judge_events(states, titles):
    """Figures about the submitted events: uploaded twice, DONE without a video, neither DONE
    nor holding an error, holding an error."""
    twice = [i for i, (_s, _e, title) in states.items() if titles.get(title, 0) > 1]
    lost = [i for i, (state, _e, title) in states.items()
            if state == "DONE" and titles.get(title, 0) == 0]
    stuck = [i for i, (state, error, _t) in states.items() if state != "DONE" and not error]
    errored = {i: error for i, (state, error, _t) in states.items()
               if state != "DONE" and error}
    return twice, lost, stuck, errored
