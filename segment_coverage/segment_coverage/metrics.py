"""Prometheus metrics of the coverage checks, with bounded labels.

Every figure is a gauge labelled by stream, variant and `hours`, which is one of "current",
"previous" (the hour before it) and "all" (the sum over every hour that has a directory). Never a
label per hour: the number of series does not grow with the archive (an earlier system's
per-hour labels made scrapes expensive and fail).
"""

from datetime import timedelta

import prometheus_client as prom

from .figures import FILE_TYPES, TIMED_TYPES, Figures

HOURS_LABELS = ("current", "previous", "all")

# metric name suffix -> (Figures attribute, help)
_GAUGES = {
    "duplicate_files": ("duplicates", "Files beyond the first with the same start time"),
    "expected_seconds": ("expected", "Length of the time examined (the current hour stops a "
                         "little before now)"),
    "covered_seconds": ("covered", "Time covered by the best segments (the selection "
                        "get_best_segments makes)"),
    "holes": ("holes", "Gaps in the best segments, including an uncovered start or end "
              "(a hole across an hour boundary counts in both hours)"),
    "hole_seconds": ("hole_duration", "Total length of the holes"),
    "overlaps": ("overlaps", "Segments skipped because they overlap the previous one by more "
                 "than 10 ms (e.g. two nodes' downloads that do not line up)"),
    "overlap_seconds": ("overlap_duration", "Total time by which skipped segments overlap"),
    "partials_chosen": ("partials_chosen", "Partial or suspect segments among the best segments"),
}


def _value(value):
    return value.total_seconds() if isinstance(value, timedelta) else value


class Metrics:
    """The gauges and counters of the daemon, registered in `registry`."""

    def __init__(self, registry=prom.REGISTRY):
        labels = ["stream", "variant", "hours"]
        self.files = prom.Gauge(
            "segment_coverage_files", "Files in the hour directories, by type "
            "(unparseable: names the segment parser rejects)",
            labels + ["type"], registry=registry)
        self.file_seconds = prom.Gauge(
            "segment_coverage_file_seconds", "Summed durations of the files, by type",
            labels + ["type"], registry=registry)
        self.gauges = {
            attr: prom.Gauge(f"segment_coverage_{suffix}", doc, labels, registry=registry)
            for suffix, (attr, doc) in _GAUGES.items()
        }
        self.archived_hours = prom.Gauge(
            "segment_coverage_archived_hours", "Hour directories of the stream/variant",
            ["stream", "variant"], registry=registry)
        self.hour_scans = prom.Counter(
            "segment_coverage_hour_scans", "Hours examined, by whether they were scanned again "
            "or reused (closed and unchanged)", ["stream", "variant", "result"],
            registry=registry)
        self.unreadable_hours = prom.Gauge(
            "segment_coverage_unreadable_hours", "Hours that could not be read at the last check",
            ["stream", "variant"], registry=registry)
        self.check_duration = prom.Histogram(
            "segment_coverage_check_duration_seconds", "Time taken by one full check",
            buckets=(0.1, 0.3, 1, 3, 10, 30, 100, 300), registry=registry)
        self.last_check = prom.Gauge(
            "segment_coverage_last_check_timestamp_seconds",
            "Unix time at which the last check finished", registry=registry)
        self.check_errors = prom.Counter(
            "segment_coverage_check_errors", "Stream/variants whose check failed",
            ["stream", "variant"], registry=registry)

    def forget(self, stream, variant):
        """Remove the series of a stream/variant that is no longer checked."""
        for hours in HOURS_LABELS:
            for type in FILE_TYPES:
                _remove(self.files, stream, variant, hours, type)
            for type in TIMED_TYPES:
                _remove(self.file_seconds, stream, variant, hours, type)
            for gauge in self.gauges.values():
                _remove(gauge, stream, variant, hours)
        for metric in (self.archived_hours, self.unreadable_hours):
            _remove(metric, stream, variant)
        for result in ("scanned", "reused"):
            _remove(self.hour_scans, stream, variant, result)

    def publish(self, coverage):
        """Set every gauge of a stream/variant from a VariantCoverage."""
        stream, variant = coverage.stream, coverage.variant
        by_label = {
            "current": _figures(coverage.current),
            "previous": _figures(coverage.previous),
            "all": coverage.totals,
        }
        for hours, figures in by_label.items():
            for type in FILE_TYPES:
                self.files.labels(stream, variant, hours, type).set(getattr(figures, type))
            for type in TIMED_TYPES:
                self.file_seconds.labels(stream, variant, hours, type).set(
                    _value(getattr(figures, f"{type}_duration")))
            for attr, gauge in self.gauges.items():
                gauge.labels(stream, variant, hours).set(_value(getattr(figures, attr)))
        self.archived_hours.labels(stream, variant).set(
            sum(1 for c in coverage.hours if c.archived))
        self.hour_scans.labels(stream, variant, "scanned").inc(coverage.rescanned)
        self.hour_scans.labels(stream, variant, "reused").inc(coverage.reused)
        self.unreadable_hours.labels(stream, variant).set(len(coverage.unreadable))


def _remove(metric, *labels):
    try:
        metric.remove(*labels)
    except KeyError:
        pass


def _figures(hour_coverage):
    return hour_coverage.figures if hour_coverage is not None else Figures()
