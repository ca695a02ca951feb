"""Metrics: values from the known archive, and a number of series that does not grow with hours."""

from datetime import datetime, timedelta

import prometheus_client as prom

from segment_coverage.metrics import Metrics
from segment_coverage.scan import Scanner
from support.archive import write_segment

S = timedelta(seconds=1)


def _publish(base, stream, variant, now):
    registry = prom.CollectorRegistry()
    metrics = Metrics(registry)
    metrics.publish(Scanner(base).scan(stream, variant, now, 48, 48))
    return registry


def _series(registry):
    return {(sample.name, tuple(sorted(sample.labels.items())))
            for family in registry.collect() for sample in family.samples}


def test_metric_values(shared_archive, scenario):
    registry = _publish(shared_archive, scenario.STREAM, scenario.VARIANT, scenario.NOW)

    def value(name, hours, **labels):
        return registry.get_sample_value(
            name, {"stream": "s", "variant": "v", "hours": hours, **labels})

    assert value("segment_coverage_holes", "all") == 4
    assert value("segment_coverage_hole_seconds", "all") == 3575.5
    assert value("segment_coverage_holes", "previous") == 1
    assert value("segment_coverage_hole_seconds", "current") == 1769.5
    assert value("segment_coverage_overlaps", "all") == 1
    assert value("segment_coverage_overlap_seconds", "all") == 1.0
    assert value("segment_coverage_overlaps", "previous") == 0
    assert value("segment_coverage_duplicate_files", "all") == 2
    assert value("segment_coverage_partials_chosen", "all") == 2
    assert value("segment_coverage_covered_seconds", "current") == 600.5
    assert value("segment_coverage_files", "all", type="unparseable") == 2
    assert value("segment_coverage_files", "all", type="full") == 2997
    assert value("segment_coverage_file_seconds", "previous", type="full") == 1800.5
    assert registry.get_sample_value(
        "segment_coverage_archived_hours", {"stream": "s", "variant": "v"}) == 3
    assert registry.get_sample_value(
        "segment_coverage_hour_scans_total",
        {"stream": "s", "variant": "v", "result": "scanned"}) == 3


def _sparse_archive(base, hours):
    """Three segments in each of `hours` hours, ending at the hour before NOW."""
    now = datetime(2026, 2, 1, 12, 30)
    first = datetime(2026, 2, 1, 11) - (hours - 1) * timedelta(hours=1)
    for h in range(hours):
        for t in (0, 2, 600):
            write_segment(base, "s", "v", first + timedelta(hours=h) + t * S, 2 * S,
                          f"{h}/{t}".encode())
    return now


def test_series_do_not_grow_with_the_number_of_hours(tmp_path):
    few = str(tmp_path / "few")
    many = str(tmp_path / "many")
    registry_few = _publish(few, "s", "v", _sparse_archive(few, 2))
    registry_many = _publish(many, "s", "v", _sparse_archive(many, 40))
    assert registry_many.get_sample_value(
        "segment_coverage_archived_hours", {"stream": "s", "variant": "v"}) == 40
    assert registry_many.get_sample_value(
        "segment_coverage_holes", {"stream": "s", "variant": "v", "hours": "all"}) > \
        registry_few.get_sample_value(
        "segment_coverage_holes", {"stream": "s", "variant": "v", "hours": "all"})
    assert _series(registry_many) == _series(registry_few)
    hour_labels = {dict(labels).get("hours") for _, labels in _series(registry_many)}
    assert hour_labels == {None, "current", "previous", "all"}
