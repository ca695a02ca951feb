"""Samples of each service's resident memory and number of metric series, so that growth
with time shows: the sample at minute 10 (after start-up and the first passes) is compared
with the one at the end."""

import urllib.request


def rss_kib(pid):
    """Resident set size of a process in KiB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def metric_series(url, timeout=5):
    """Number of samples (series) on a /metrics page, or None if it does not answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except OSError:
        return None
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def sample(nodes, services):
    """{(node, service): (rss KiB or None, series or None)}."""
    out = {}
    for node in nodes:
        for service in services:
            pid = node.pid(service)
            out[(node.name, service)] = (rss_kib(pid) if pid else None,
                                         metric_series(node.metrics_url(service)))
    return out


def growth(first, last, allowed=0.2):
    """(ratio, ok) of last over first; ok if within `allowed` of flat (or not measured)."""
    if not first or last is None:
        return None, True
    ratio = last / first
    return ratio, ratio <= 1 + allowed
