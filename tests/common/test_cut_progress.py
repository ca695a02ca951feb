"""common.cuts progress callbacks, against real ffmpeg on real segments."""

import os
from datetime import datetime, timedelta

import pytest

from common import cuts, renditions
from common.segments import get_best_segments
from support.archive import build_archive, build_separate_audio_archive

T0 = datetime(2025, 3, 1, 12, 0, 0)
COUNT = 30  # 60 s of video: long enough for a slow encode to report several times


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("progress-archive"))
    build_archive(base, "s", "v", T0, COUNT)
    return get_best_segments(os.path.join(base, "s", "v"), T0, T0 + timedelta(seconds=60))


def consume(chunks):
    return sum(len(chunk) for chunk in chunks)


def check_reports(reports, total):
    assert reports, "no progress reported"
    assert all(t == pytest.approx(total) for _, t in reports)
    done = [d for d, _ in reports]
    assert done == sorted(done), done  # never goes back
    assert done[-1] == pytest.approx(total)  # the last report says complete
    assert all(0 <= d <= total for d in done)


def test_rough_cut_reports_each_segment(segments):
    reports = []
    start, end = T0 + timedelta(seconds=3), T0 + timedelta(seconds=13)
    assert consume(cuts.rough_cut(segments, start, end, progress=lambda d, t: reports.append(
        (d, t)))) > 0
    check_reports(reports, 10.0)
    # Segments 1 to 6 are read (2-4 s .. 12-14 s): one report each, the first covering 1 s.
    assert [round(d) for d, _ in reports] == [1, 3, 5, 7, 9, 10]


@pytest.mark.parametrize("container", ["mpegts", "mp4"])
def test_full_cut_reports_ffmpeg_progress(segments, container, monkeypatch):
    # Reports every 0.1 s (instead of 1 s), so that even this short encode is seen while it runs.
    monkeypatch.setattr(cuts._Progress, "INTERVAL", 0.1)
    reports = []
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=59)
    assert consume(cuts.full_cut(segments, start, end, cuts.DEFAULT_ENCODE_ARGS, container,
                                 progress=lambda d, t: reports.append((d, t)))) > 0
    check_reports(reports, 58.0)
    assert any(0 < d < 58.0 for d, _ in reports), reports  # reports while it ran


def test_fast_cut_reports_completion(segments):
    reports = []
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=9)
    assert consume(cuts.fast_cut(segments, start, end, "mp4",
                                 progress=lambda d, t: reports.append((d, t)))) > 0
    check_reports(reports, 8.0)


def test_rough_cut_with_separate_audio_reports_its_muxing_ffmpeg(tmp_path, monkeypatch):
    """A rough cut with separate sound is one ffmpeg remux that keeps the timestamps (-copyts),
    whose report's out_time is unreliable: its progress counts the video frames written."""
    build_separate_audio_archive(str(tmp_path), "s", "v", T0, COUNT)
    video = os.path.join(str(tmp_path), "s", "v")
    start, end = T0 + timedelta(seconds=3), T0 + timedelta(seconds=57)
    segments = get_best_segments(video, start, end)
    audio = renditions.audio_segments(video, segments)
    assert audio
    last_read = []  # what the muxing ffmpeg's own final report says, read as the cut reads it
    finish = cuts._Progress.finish
    monkeypatch.setattr(cuts._Progress, "finish",
                        lambda self: last_read.append(self._read()) or finish(self))
    reports = []
    assert consume(cuts.rough_cut(segments, start, end, audio=audio,
                                  progress=lambda d, t: reports.append((d, t)))) > 0
    whole = (segments[-1].end - segments[0].start).total_seconds()  # 2 s .. 58 s
    check_reports(reports, whole)
    assert last_read and last_read[0] == pytest.approx(whole, abs=0.1), last_read


def test_progress_reader_stops_with_an_abandoned_cut(segments, monkeypatch):
    """A consumer that stops early must not leave the progress reader polling."""
    monkeypatch.setattr(cuts._Progress, "INTERVAL", 0.05)
    readers = []
    monkeypatch.setattr(cuts._Progress, "ffmpeg_args", lambda self: readers.append(self) or
                        ["-progress", self.path, "-stats_period", str(self.INTERVAL)])
    reports = []
    chunks = cuts.full_cut(segments, T0, T0 + timedelta(seconds=60), cuts.DEFAULT_ENCODE_ARGS,
                           "mpegts", progress=lambda d, t: reports.append((d, t)))
    next(chunks)
    chunks.close()
    assert len(readers) == 1 and readers[0].greenlet.dead
