import json
import subprocess
import sys
import textwrap

import pytest
import requests
from prometheus_client import REGISTRY

from common import stats
from support.waiting import free_port


def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_timed_labels_from_inputs_and_output_and_normalizes_per_unit():
    @stats.timed("t_fetch", normalize=lambda ret, *a, **k: len(ret),
                 variant=lambda ret, stream, variant: variant,
                 empty=lambda ret, *a, **k: str(not ret).lower())
    def fetch(stream, variant):
        return [1, 2, 3, 4] if variant == "source" else []

    assert fetch("s", "source") == [1, 2, 3, 4]
    fetch("s", variant="480p")
    fetch("s", "source")
    labels = dict(variant="source", empty="false")
    assert sample("t_fetch_latency_seconds_count", **labels) == 2
    assert sample("t_fetch_latency_seconds_count", variant="480p", empty="true") == 1
    # 4 units of work per call: per-unit time is a quarter of the call's time.
    total = sample("t_fetch_latency_seconds_sum", **labels)
    per_unit = sample("t_fetch_normalized_latency_seconds_sum", **labels)
    assert sample("t_fetch_normalized_latency_seconds_count", **labels) == 2
    assert per_unit == pytest.approx(total / 4)
    # No work done: nothing to normalise.
    assert sample("t_fetch_normalized_latency_seconds_count", variant="480p", empty="true") == 0


def test_timed_unit_names_the_normalized_metric_in_its_help():
    @stats.timed("t_unit", normalize=lambda ret, n: n, unit="second of video",
                 normalized_buckets=(0.1, 1))
    def cut(n):
        return n

    cut(2)
    family = next(m for m in REGISTRY.collect() if m.name == "t_unit_normalized_latency_seconds")
    assert family.documentation == "Wall time of t_unit per second of video"
    assert sorted({s.labels.get("le") for s in family.samples} - {None}) == ["+Inf", "0.1", "1.0"]


def test_timed_counts_exceptions_by_type_and_reraises():
    @stats.timed("t_fails")
    def fails(kind):
        raise kind("boom")

    for kind in (KeyError, KeyError, ValueError):
        with pytest.raises(kind):
            fails(kind)
    assert sample("function_exceptions_total", function="t_fails", exception="KeyError") == 2
    assert sample("function_exceptions_total", function="t_fails", exception="ValueError") == 1
    assert sample("function_error_latency_seconds_count", function="t_fails") == 3
    assert sample("t_fails_latency_seconds_count") == 0


def test_timed_bare_and_generators_timed_until_exhausted():
    @stats.timed
    def t_bare():
        return 1

    @stats.timed("t_gen", normalize=lambda ret, n: n)
    def gen(n):
        yield from range(n)

    assert t_bare() == 1
    assert sample("t_bare_latency_seconds_count") == 1
    chunks = gen(3)
    assert sample("t_gen_latency_seconds_count") == 0  # not started yet
    assert list(chunks) == [0, 1, 2]
    assert sample("t_gen_latency_seconds_count") == 1
    assert sample("t_gen_normalized_latency_seconds_count") == 1
    partial = gen(5)
    next(partial)
    partial.close()  # consumer went away: not a completed call
    assert sample("t_gen_latency_seconds_count") == 1


def test_broken_label_function_never_breaks_the_call():
    @stats.timed("t_broken_label", thing=lambda ret: ret["missing"])
    def f():
        return {}

    assert f() == {}
    assert f() == {}


def test_same_name_reuses_metrics_but_conflicting_labels_are_refused():
    def f():
        return 1
    stats.timed("t_twice", a=lambda ret: "x")(f)()
    stats.timed("t_twice", a=lambda ret: "y")(f)()
    assert sample("t_twice_latency_seconds_count", a="x") == 1
    assert sample("t_twice_latency_seconds_count", a="y") == 1
    with pytest.raises(ValueError, match="t_twice"):
        stats.timed("t_twice", b=lambda ret: "z")(f)
    with pytest.raises(ValueError, match="letters"):
        stats.timed("bad-name")(f)


def test_init_timed_creates_the_series_at_zero():
    @stats.timed("t_init", normalize=lambda ret, *a, **k: 1, kind=lambda ret, kind: kind)
    def work(kind):
        pass

    stats.init_timed("t_init", kind="a")
    # Present at 0 before any call (None if the series did not exist)...
    assert REGISTRY.get_sample_value("t_init_latency_seconds_count", {"kind": "a"}) == 0
    assert REGISTRY.get_sample_value("t_init_normalized_latency_seconds_count",
                                     {"kind": "a"}) == 0
    # ... and the same series the calls count in.
    work("a")
    assert sample("t_init_latency_seconds_count", kind="a") == 1
    with pytest.raises(ValueError, match="labels"):
        stats.init_timed("t_init", other="a")
    with pytest.raises(ValueError, match="no timed"):
        stats.init_timed("t_never_defined", kind="a")


def test_count_exceptions():
    @stats.count_exceptions("t_counted")
    def f():
        raise OSError("disk")
    with pytest.raises(OSError):
        f()
    assert sample("function_exceptions_total", function="t_counted", exception="OSError") == 1


def test_serve_metrics_serves_the_registry_over_http():
    assert stats.serve_metrics(0) is None

    @stats.timed("t_served")
    def f():
        return 1
    f()
    server = stats.serve_metrics(free_port(), host="127.0.0.1")
    try:
        resp = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
        assert resp.status_code == 200
        assert "t_served_latency_seconds_count 1.0" in resp.text
        with pytest.raises(OSError, match=str(server.server_port)):
            stats.serve_metrics(server.server_port, host="127.0.0.1")
    finally:
        server.stop()


@pytest.mark.parametrize("port", [-1, 65536, 99999])
def test_serve_metrics_out_of_range_port_is_an_os_error(port):
    # Daemons turn an OSError from serve_metrics into a one-line error; bind() alone would
    # raise OverflowError, a traceback.
    with pytest.raises(OSError, match=f"port {port}: not a port number"):
        stats.serve_metrics(port, host="127.0.0.1")


def test_profiling_requested_by_flag_or_env(monkeypatch):
    class Args:
        profile = False
    monkeypatch.delenv("COMMON_PROFILE", raising=False)
    assert not stats.profiling_requested(Args())
    assert stats.install_profiler_if_requested(Args()) is None
    Args.profile = True
    assert stats.profiling_requested(Args())
    monkeypatch.setenv("COMMON_PROFILE", "1")
    assert stats.profiling_requested(None)


# Runs in its own process so that a deadlock shows up as a timeout, not a hung test session.
# The main thread scrapes (taking prometheus_client's locks) and updates labelled metrics
# while SIGPROF fires every 0.2 ms of CPU, from stacks of many different depths.
PROFILE_SCRIPT = textwrap.dedent("""
    import json, random, sys
    from prometheus_client import REGISTRY, Counter, generate_latest
    from prometheus_client.parser import text_string_to_metric_families
    from common import stats

    TOP_N = 5
    busy = Counter("busy_things", "labelled metric updated during sampling", ["kind"])
    stats.install_profiler(interval=0.0002, top_n=TOP_N)

    def nested(depth):
        if depth:
            return nested(depth - 1)
        busy.labels(str(random.randrange(20))).inc()
        return generate_latest(REGISTRY)

    # Until enough scrapes saw enough samples (a condition, not a duration: under load the
    # process gets less CPU per second); the parent's timeout catches a deadlock.
    scrapes = []
    while len(scrapes) < int(sys.argv[1]) or sum(scrapes[-1].values()) <= 100:
        text = nested(random.randrange(40)).decode()
        if random.random() < 0.8:
            continue  # mostly scrape: parsing is slow and takes no prometheus locks
        for family in text_string_to_metric_families(text):
            if family.name == "flamegraph":
                scrapes.append({s.labels["stack"]: s.value for s in family.samples
                                if s.name == "flamegraph_total"})
    stats.uninstall_profiler()
    print(json.dumps(scrapes[::max(1, len(scrapes) // 200)] + scrapes[-1:]))
""")


def test_profiler_exports_bounded_monotonic_samples_without_deadlocking_scrapes():
    try:
        proc = subprocess.run([sys.executable, "-c", PROFILE_SCRIPT, "20"], capture_output=True,
                              text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("scraping while the profiler samples deadlocked")
    assert proc.returncode == 0, proc.stderr
    scrapes = json.loads(proc.stdout)
    assert len(scrapes) > 10
    final = scrapes[-1]
    assert sum(final.values()) > 100  # it really sampled, many times
    assert len(final) <= 5 + 1 and "other" in final  # top 5 stacks + "other"
    assert final["other"] > 0  # the many other stacks were collapsed, not dropped
    assert any(s.startswith("__main__.<module>;") for s in final)  # root first
    for before, after in zip(scrapes, scrapes[1:]):  # counters never go backwards
        for stack, value in before.items():
            assert after[stack] >= value, stack


# The daemon setting: gevent-patched, /metrics served by serve_metrics and scraped over HTTP
# while greenlets burn CPU under the sampler; then a normal exit with the sampler still on
# (exit status 0, not killed by SIGPROF during interpreter shutdown).
GEVENT_PROFILE_SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import sys, gevent, requests
    from common import stats

    stats.install_profiler(interval=0.001)
    server = stats.serve_metrics(int(sys.argv[1]), "127.0.0.1")

    def burn():
        while True:
            sum(i * i for i in range(20000))
            gevent.sleep(0)

    workers = [gevent.spawn(burn) for _ in range(2)]
    # Scrape until the sampler has seen the burning greenlets (a condition, not a duration);
    # the parent's timeout catches a hang.
    scrapes, text = 0, ""
    while scrapes < 10 or "__main__.burn" not in text:
        text = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5).text
        scrapes += 1
    gevent.killall(workers)
    print(scrapes)
    print(text)
""")


def test_profiler_under_gevent_with_http_scrapes():
    try:
        proc = subprocess.run([sys.executable, "-c", GEVENT_PROFILE_SCRIPT, str(free_port())],
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("scraping over HTTP while the profiler samples hung")
    assert proc.returncode == 0, proc.stderr
    scrapes, text = proc.stdout.split("\n", 1)
    assert int(scrapes) > 5
    assert "profile_interval_seconds 0.001" in text
    assert any(line.startswith("flamegraph_total{") and "__main__.burn" in line
               for line in text.splitlines())
