"""Frames that say which frame they are.

The coded test video (support.archive with coded=True) carries each frame's index in a row of
blocks at the top of the picture: block k is white when bit k of the index is set. A test reads
the blocks of the frame a browser shows, and maps that index to the frame's own timestamp in
its segment (its PTS, read with ffprobe) and through the segment's start (the playlist's
PROGRAM-DATE-TIME) to wall-clock time: independent of whatever the page under test computes.
"""

import json
import subprocess
from datetime import timedelta
from decimal import Decimal

BITS = 12  # 4096 frames: 136 s at 30 fps
BLOCK = 20  # pixels per bit (in the 320x240 source)
BAND = 20  # height of the black band that holds the blocks


def drawbox_filter():
    """The ffmpeg video filter that draws the blocks (frame index n of the whole encode)."""
    boxes = [f"drawbox=x=0:y=0:w={BITS * BLOCK}:h={BAND}:color=black:t=fill"]
    for k in range(BITS):
        boxes.append(f"drawbox=x={k * BLOCK + 2}:y=2:w={BLOCK - 4}:h={BAND - 4}:color=white"
                     f":t=fill:enable='mod(floor(n/{2 ** k}),2)'")
    return ",".join(boxes)


def sample_points():
    """(x, y) of each block's centre in source pixels, bit 0 first."""
    return [(k * BLOCK + BLOCK // 2, BAND // 2) for k in range(BITS)]


def decode(lumas):
    """Frame index from the brightness (0-255) at each sample point, bit 0 first."""
    if len(lumas) != BITS:
        raise ValueError(f"want {BITS} samples, got {len(lumas)}")
    unclear = [v for v in lumas if 70 < v < 185]
    if unclear:
        raise ValueError(f"frame code unreadable (grey blocks {unclear}): not a coded frame?")
    return sum(1 << k for k, v in enumerate(lumas) if v >= 128)


def video_frame_times(path):
    """(the video stream's start time, sorted PTS of its frames), in seconds as Decimals."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=start_time:packet=pts_time", "-of", "json", path],
        check=True, capture_output=True, text=True).stdout
    info = json.loads(out)
    start = Decimal(info["streams"][0]["start_time"])
    return start, sorted(Decimal(p["pts_time"]) for p in info["packets"])


def frame_wall_clock(segments, index):
    """Wall-clock time (naive UTC datetime) of coded frame `index`.

    segments: [(segment start as in its file name / PROGRAM-DATE-TIME, path)] in order, holding
    the coded encode from its first frame on. The frame's time is its segment's start plus its
    PTS after the segment's first video timestamp.
    """
    seen = 0
    for start, path in segments:
        origin, times = video_frame_times(path)
        if index < seen + len(times):
            offset = times[index - seen] - origin
            return start + timedelta(microseconds=int(offset * 1_000_000))
        seen += len(times)
    raise ValueError(f"frame {index} is past the {seen} frames of these segments")
