"""The JSON summary of a stream/variant: figures per hour for the last N hours, and totals."""

import json

from common.segments import hour_name


def summary(coverage, hours):
    """A JSON-ready dict from a VariantCoverage, with the last `hours` hours (oldest first).
    Durations are seconds (floats, for reading; the figures themselves are exact timedeltas)."""
    return {
        "stream": coverage.stream,
        "variant": coverage.variant,
        "generated": coverage.now.isoformat(timespec="seconds"),
        "archived_hours": sum(1 for c in coverage.hours if c.archived),
        "totals": coverage.totals.as_json(),
        "hours": [
            {"hour": hour_name(c.hour), "archived": c.archived, "closed": c.closed,
             **c.figures.as_json()}
            for c in coverage.recent(hours)
        ],
    }


def summary_json(coverage, hours):
    return json.dumps(summary(coverage, hours), indent=1, sort_keys=True) + "\n"
