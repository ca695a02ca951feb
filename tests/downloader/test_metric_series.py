"""The downloader's series are whole from the start: an outage's errors move counters that
exist already instead of adding series (the soak judges growing series a leak)."""

from prometheus_client import REGISTRY

from support.hls_origin import archived
from support.waiting import wait_for

STREAM = "series-test"


def series():
    return {(sample.name, tuple(sorted(sample.labels.items())))
            for metric in REGISTRY.collect() if metric.name.startswith("downloader_")
            for sample in metric.samples if sample.labels.get("stream") == STREAM}


def errors():
    return sum(REGISTRY.get_sample_value("downloader_segment_fetch_errors_total",
                                         {"stream": STREAM, "variant": "source", "kind": kind})
               or 0 for kind in ("protocol", "connection", "http_4xx", "http_5xx", "gone"))


def test_failures_add_no_series(hls_origin, channel, run_downloader, tmp_path):
    base = str(tmp_path / "archive")
    run_downloader(channel.master_url, stream=STREAM, base_dir=base, qualities=["source"])
    wait_for(lambda: [s for s in archived(base, STREAM, "source") if s.type == "full"], 20,
             "a full segment")
    before = series()
    seq = hls_origin.next_seq() + 1
    channel.fault(seq, "cut", variant=0)
    channel.fault(seq + 1, "404", variant=0)
    wait_for(lambda: errors() >= 2, 20, "the cut and the 404 counted")
    wait_for(lambda: [s for s in archived(base, STREAM, "source") if s.type == "partial"], 20,
             "the partial kept")
    assert series() == before
