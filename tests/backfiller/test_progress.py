"""The backfiller's one-line catch-up summary (pure); passes that log it: test_fetch.py."""

from backfiller.progress import CatchUp


def test_catch_up_line_counts_rate_and_time_left():
    progress = CatchUp("node-b", now=100.0, interval=30)
    progress.want(1000)
    for _ in range(200):
        progress.got(250_000)
    progress.dropped()  # e.g. arrived from the local downloader meanwhile
    assert progress.left == 799
    assert not progress.due(129.9)  # at most one line per interval
    assert progress.due(130.0) and not progress.due(131.0)
    line = progress.line(now=140.0)  # 40 s in: 5 segments/s, 1.25 MB/s
    assert line == ("catching up from node-b: fetched 200 of 1,000 segments (50.0 MB), 799 left "
                    "(about 199.8 MB); 5.0 segments/s (1.2 MB/s), about 2m40s to go")


def test_nothing_left_means_no_line():
    progress = CatchUp("node-b", now=0.0, interval=30)
    progress.want(1)
    progress.got(10)
    assert not progress.due(1000.0)
