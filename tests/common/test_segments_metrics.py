"""get_best_segments is timed (common.stats.timed): per call and per item returned."""

from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from common.segments import ContainsHoles, get_best_segments
from support.archive import write_segment

T0 = datetime(2026, 11, 27, 10, 0)
TWO = timedelta(seconds=2)


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_each_call_is_timed_and_normalised_by_the_items_returned(tmp_path):
    for i in range(5):
        write_segment(str(tmp_path), "s", "v", T0 + i * TWO, TWO, b"seg%d" % i)
    hours_path = str(tmp_path / "s" / "v")
    calls = sample("get_best_segments_latency_seconds_count")
    per_item = sample("get_best_segments_normalized_latency_seconds_count")
    total_before = sample("get_best_segments_latency_seconds_sum")
    per_item_before = sample("get_best_segments_normalized_latency_seconds_sum")

    found = get_best_segments(hours_path, T0, T0 + 10 * TWO)  # 5 segments, then a hole
    assert len(found) == 6 and found[-1] is None

    assert sample("get_best_segments_latency_seconds_count") == calls + 1
    assert sample("get_best_segments_normalized_latency_seconds_count") == per_item + 1
    took = sample("get_best_segments_latency_seconds_sum") - total_before
    assert took > 0
    assert sample("get_best_segments_normalized_latency_seconds_sum") - per_item_before \
        == pytest.approx(took / 6)


def test_a_range_with_holes_refused_is_counted_as_such(tmp_path):
    write_segment(str(tmp_path), "s", "v", T0, TWO, b"one")
    before = sample("function_exceptions_total", function="get_best_segments",
                    exception="ContainsHoles")
    with pytest.raises(ContainsHoles):
        get_best_segments(str(tmp_path / "s" / "v"), T0, T0 + 2 * TWO, allow_holes=False)
    assert sample("function_exceptions_total", function="get_best_segments",
                  exception="ContainsHoles") == before + 1
