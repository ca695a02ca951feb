"""The downloader's newest-segment gauges, which the stall and lag alerts read."""

import time
from datetime import datetime, timedelta

from prometheus_client import REGISTRY

from downloader import metrics

T0 = datetime(2026, 3, 1, 12, 0, 0)


def sample(name, variant):
    return REGISTRY.get_sample_value(name, {"stream": "newest-test", "variant": variant})


def test_newest_segment_moves_forward_only_and_records_when():
    before = time.time()
    metrics.note_newest("newest-test", "v", T0 + timedelta(seconds=4))
    stored = sample("downloader_newest_segment_stored_timestamp_seconds", "v")
    assert before <= stored <= time.time()
    assert sample("downloader_newest_segment_timestamp_seconds", "v") == \
        (T0 + timedelta(seconds=4) - datetime(1970, 1, 1)).total_seconds()
    # A retry finishing late (an older segment) is not news: neither gauge moves.
    metrics.note_newest("newest-test", "v", T0)
    assert sample("downloader_newest_segment_stored_timestamp_seconds", "v") == stored
    assert sample("downloader_newest_segment_timestamp_seconds", "v") == \
        (T0 + timedelta(seconds=4) - datetime(1970, 1, 1)).total_seconds()
