"""Prometheus instrumentation shared by every service.

- `timed()`: decorator recording a latency histogram per function, labelled from the call's
  inputs and output, optionally also time per unit of work (per segment, per second of video).
- `init_timed()`: create a timed function's series for known label values at 0.
- `count_exceptions()`: decorator counting exceptions by function and exception type (`timed`
  does this too).
- `serve_metrics(port)`: /metrics on a gevent WSGI server, for daemons with no HTTP server.
- `install_profiler()`: opt-in stack sampler exported as a `flamegraph_total{stack}` counter.

Label sets must stay bounded: a label value may come only from a small fixed set (a stream name,
a variant, a result type, "true"/"false"), never from a time, a path, a URL or an id, or the
scrape grows without limit (this has taken down /metrics before).
"""

import argparse
import atexit
import functools
import inspect
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from gevent.pywsgi import WSGIServer

log = logging.getLogger(__name__)

# From 1 ms to 10 min: covers a playlist render as well as a full cut of a long video.
LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60,
                   120, 300, 600)
# Time per unit of work ranges from microseconds (per segment listed) to seconds (per second
# of video re-encoded).
NORMALIZED_BUCKETS = (1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, .01, .03, .1, .3, 1, 3, 10)

exceptions_total = Counter(
    "function_exceptions", "Exceptions raised by instrumented functions",
    ["function", "exception"])
error_latency = Histogram(
    "function_error_latency_seconds", "Time until an instrumented function raised",
    ["function"], buckets=LATENCY_BUCKETS)

# name -> (label names, latency histogram, normalized histogram or None)
_timed_metrics = {}
_timed_metrics_lock = threading.Lock()


def _metric_name(name):
    bad = [c for c in name if not (c.isalnum() or c == "_")]
    if not name or bad or name[0].isdigit():
        raise ValueError(f"metric name {name!r} must be letters, digits and underscores")
    return name


def _get_timed_metrics(name, label_names, normalized, buckets, normalized_buckets, unit):
    """Metrics for a timed name; re-decorating the same name (e.g. a re-import) reuses them."""
    with _timed_metrics_lock:
        existing = _timed_metrics.get(name)
        if existing is not None:
            if existing[0] != label_names or (existing[2] is None) == normalized:
                raise ValueError(f"timed({name!r}) already defined with labels {existing[0]}"
                                 f" and normalized={existing[2] is not None}")
            return existing
        latency = Histogram(f"{name}_latency_seconds", f"Wall time of {name} (including waits"
            " for other greenlets)", label_names, buckets=buckets or LATENCY_BUCKETS)
        per_unit = None
        if normalized:
            per_unit = Histogram(f"{name}_normalized_latency_seconds", f"Wall time of {name}"
                f" per {unit or 'unit of work done'}", label_names,
                buckets=normalized_buckets or NORMALIZED_BUCKETS)
        _timed_metrics[name] = (label_names, latency, per_unit)
        return _timed_metrics[name]


def init_timed(name: str, **labels: object) -> None:
    """Create the series of `timed(name)` for these label values (every label, by name) at 0,
    so that rate() and increase() count its first call too: a series born at 1 looks unchanged
    to them. The timed function must be defined already (its module imported)."""
    with _timed_metrics_lock:
        found = _timed_metrics.get(name)
    if found is None:
        raise ValueError(f"no timed({name!r}) is defined (import its module first)")
    label_names, latency, per_unit = found
    if set(labels) != set(label_names):
        raise ValueError(f"timed({name!r}) has the labels {list(label_names)}, "
                         f"not {sorted(labels)}")
    if not label_names:
        return  # an unlabelled histogram exists at 0 from its creation
    values = [str(labels[label]) for label in label_names]
    for metric in (latency, per_unit):
        if metric is not None:
            metric.labels(*values)


class _Recorder:
    """Turns one finished call into observations; never lets metrics break the call."""

    def __init__(self, name, label_fns, normalize, latency, per_unit):
        self.name, self.normalize = name, normalize
        self.label_fns = sorted(label_fns.items())  # the order of the metrics' label names
        self.latency, self.per_unit = latency, per_unit
        # label values -> (latency child, per-unit child): .labels() costs microseconds, and
        # the label sets are bounded, so this stays small.
        self.children = {}
        self.warned = False

    def _children(self, values):
        children = self.children.get(values)
        if children is None:
            if values:
                children = (self.latency.labels(*values),
                            self.per_unit and self.per_unit.labels(*values))
            else:
                children = (self.latency, self.per_unit)
            self.children[values] = children
        return children

    def success(self, elapsed, ret, args, kwargs):
        try:
            values = tuple(str(fn(ret, *args, **kwargs)) for _, fn in self.label_fns)
            latency, per_unit = self._children(values)
            latency.observe(elapsed)
            if per_unit is not None:
                amount = self.normalize(ret, *args, **kwargs)
                if amount:  # nothing done: time per unit is undefined
                    per_unit.observe(elapsed / amount)
        except Exception:
            # A broken label/normalize function is a bug, but not worth failing the request.
            if not self.warned:
                self.warned = True
                log.exception("metrics for %s failed (logged once)", self.name)

    def failure(self, elapsed, exc):
        exceptions_total.labels(self.name, type(exc).__name__).inc()
        error_latency.labels(self.name).observe(elapsed)


def timed(name: str | Callable | None = None, normalize: Callable | None = None,
          buckets: Sequence[float] | None = None,
          normalized_buckets: Sequence[float] | None = None, unit: str | None = None,
          **label_fns: Callable) -> Callable:
    """Decorator recording how long each call takes.

    Successful calls go into histogram `NAME_latency_seconds` (NAME defaults to the function's
    name), labelled by `label_fns`: each maps a label name to `fn(ret, *args, **kwargs) -> value`,
    called with the return value and the call's arguments as passed (for a method, `self`
    first). Label values must come from bounded sets (see the module docstring).

    `normalize(ret, *args, **kwargs)` returns the amount of work done (segments returned, seconds
    of video cut); if given, `NAME_normalized_latency_seconds` records time per unit (calls
    doing no work are skipped there). `unit` names that unit in the metric's help text
    ("second of video", "byte"); choose `normalized_buckets` to fit its range.

    A call that raises is counted in `function_exceptions_total{function, exception}` and
    timed in `function_error_latency_seconds{function}`, then the exception propagates.

    For a generator function the time runs until the generator is exhausted, including the
    consumer's time between items (`ret` is None); one closed early by its consumer is not
    recorded.

        @timed("get_best_segments", normalize=lambda ret, *a, **k: len(ret or ()),
               holes=lambda ret, *a, **k: str(ret is not None and None in ret).lower())
        def get_best_segments(hours_path, start, end, allow_holes=True): ...

    Usable bare too: `@timed`.
    """
    if callable(name):  # used as @timed without arguments
        return timed()(name)

    def decorator(fn):
        metric = _metric_name(name or fn.__name__)
        label_names = tuple(sorted(label_fns))
        _, latency, per_unit = _get_timed_metrics(metric, label_names, normalize is not None,
                                                  buckets, normalized_buckets, unit)
        recorder = _Recorder(metric, label_fns, normalize, latency, per_unit)
        if inspect.isgeneratorfunction(fn):
            return _timed_generator(fn, recorder)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            start = time.monotonic()
            try:
                ret = fn(*args, **kwargs)
            except Exception as e:
                recorder.failure(time.monotonic() - start, e)
                raise
            recorder.success(time.monotonic() - start, ret, args, kwargs)
            return ret
        return wrapper
    return decorator


def _timed_generator(fn, recorder):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.monotonic()
        try:
            yield from fn(*args, **kwargs)
        except GeneratorExit:
            raise
        except Exception as e:
            recorder.failure(time.monotonic() - start, e)
            raise
        recorder.success(time.monotonic() - start, None, args, kwargs)
    return wrapper


def count_exceptions(name: str | Callable | None = None) -> Callable:
    """Decorator counting exceptions in `function_exceptions_total{function, exception}`."""
    if callable(name):
        return count_exceptions()(name)

    def decorator(fn):
        metric = name or fn.__name__

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                exceptions_total.labels(metric, type(e).__name__).inc()
                raise
        return wrapper
    return decorator


def serve_metrics(port: int, host: str = "0.0.0.0",
                  registry: CollectorRegistry = REGISTRY) -> "WSGIServer | None":
    """Serve Prometheus metrics at /metrics (any path) on a gevent WSGI server.

    Returns the started server (`.server_port`, `.stop()`), or None when port is 0 (disabled).
    Raises OSError naming the port if it cannot be bound.
    """
    if not port:
        return None
    if not 0 < port <= 65535:  # bind() would raise OverflowError, which callers do not expect
        raise OSError(f"cannot serve metrics on port {port}: not a port number "
                      "(1-65535, or 0 for none)")
    from gevent.pywsgi import WSGIServer
    from prometheus_client import make_wsgi_app

    server = WSGIServer((host, port), make_wsgi_app(registry), log=None,
                        error_log=logging.getLogger("metrics_server"))
    try:
        server.start()  # binds now, serves in a greenlet
    except OSError as e:
        raise OSError(e.errno, f"cannot serve metrics on {host}:{port}: {e.strerror}") from e
    log.info("serving metrics on %s:%d", host, server.server_port)
    return server


# ---------------------------------------------------------------------------------------------
# Stack sampler.
#
# The deadlock this design avoids: prometheus_client metrics take a (non-reentrant) lock in
# .labels() and while being collected. A signal handler that updated a metric would run in the
# main thread between two bytecodes, possibly while that same thread holds the lock mid-scrape,
# and would wait for it forever. So the handler touches only a plain dict (no locks, no metric
# objects), and a custom collector turns the dict into samples when scraped.

OTHER = "other"
TRUNCATED = "..."


class _Sampler:
    def __init__(self, max_depth, max_stacks):
        self.max_depth, self.max_stacks = max_depth, max_stacks
        self.counts = {}  # stack -> samples; written only by the signal handler
        self.overflow = 0  # samples of new stacks once max_stacks distinct ones are known

    def handler(self, signum, frame):
        parts = []
        while frame is not None and len(parts) < self.max_depth:
            code = frame.f_code
            parts.append(f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}")
            frame = frame.f_back
        if frame is not None:
            parts.append(TRUNCATED)
        parts.reverse()  # root first, as flamegraph tools expect
        stack = ";".join(parts)
        counts = self.counts
        if stack in counts:
            counts[stack] += 1
        elif len(counts) < self.max_stacks:
            counts[stack] = 1
        else:
            self.overflow += 1


class ProfileCollector:
    """Exports the sampler's counts as `flamegraph_total{stack}`, bounded to `top_n` stacks.

    A stack is exported once it ranks in the top at some scrape (with a share of samples worth
    a slot) and stays exported (so series do not come and go); its counter starts from the
    moment it was picked. Every other sample
    is counted in the stack "other", so all series are monotonic and sum to the total.
    """

    MIN_SAMPLES = 100  # before picking stacks to export
    MIN_SHARE = 0.005  # of all samples so far, for a stack to be picked

    def __init__(self, sampler: "_Sampler", interval: float, top_n: int) -> None:
        self.sampler, self.interval, self.top_n = sampler, interval, top_n
        self.baseline = {}  # exported stack -> its count when it was picked
        self.lock = threading.Lock()  # scrape-side only; the signal handler never takes it

    def collect(self) -> Iterator[Metric]:
        counts = self.sampler.counts.copy()  # one C call: the handler cannot interleave
        overflow = self.sampler.overflow
        with self.lock:
            room = self.top_n - len(self.baseline)
            total = sum(counts.values())
            if room > 0 and total >= self.MIN_SAMPLES:
                # Slots are never given back, so do not spend them on noise.
                floor = total * self.MIN_SHARE
                candidates = sorted((s for s in counts
                                     if s not in self.baseline and counts[s] >= floor),
                                    key=counts.get, reverse=True)
                for stack in candidates[:room]:
                    self.baseline[stack] = counts[stack]
            baseline = dict(self.baseline)
        family = CounterMetricFamily("flamegraph", "Stack samples taken every"
            " profile_interval_seconds of CPU time, by stack (root first, ';'-separated)",
            labels=["stack"])
        attributed = 0
        for stack, base in baseline.items():
            value = counts.get(stack, 0) - base
            attributed += value
            family.add_metric([stack], value)
        family.add_metric([OTHER], sum(counts.values()) + overflow - attributed)
        yield family
        yield GaugeMetricFamily("profile_interval_seconds", "CPU time between stack samples",
                                value=self.interval)


_profiler = None  # (sampler, collector, registry, previous handler)


def profiling_requested(args: argparse.Namespace | None = None) -> bool:
    """True if --profile was given (args.profile) or COMMON_PROFILE=1 is set."""
    return bool(getattr(args, "profile", False)) or os.environ.get("COMMON_PROFILE") == "1"


def install_profiler(interval: float = 0.01, top_n: int = 200, max_depth: int = 60,
                     max_stacks: int = 5000,
                     registry: CollectorRegistry = REGISTRY) -> "ProfileCollector":
    """Sample the main thread's stack every `interval` seconds of CPU time (SIGPROF).

    Must be called from the main thread. Under gevent every greenlet runs there, so samples
    cover all of them. Idempotent; `uninstall_profiler()` stops it.
    """
    global _profiler
    if _profiler is not None:
        return _profiler[1]
    sampler = _Sampler(max_depth, max_stacks)
    collector = ProfileCollector(sampler, interval, top_n)
    previous = signal.signal(signal.SIGPROF, sampler.handler)
    registry.register(collector)
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    _profiler = (sampler, collector, registry, previous)
    # At exit Python restores SIGPROF's default action (terminate) while the timer still runs:
    # a clean shutdown would end "Profiling timer expired". Stop the timer first.
    atexit.register(uninstall_profiler)
    log.info("stack sampler installed: every %.3fs of CPU, flamegraph_total on /metrics",
             interval)
    return collector


def install_profiler_if_requested(args: argparse.Namespace | None = None,
                                  **kwargs: object) -> "ProfileCollector | None":
    """For service start-up: install the profiler if profiling_requested(args)."""
    if profiling_requested(args):
        return install_profiler(**kwargs)
    return None


def uninstall_profiler() -> None:
    global _profiler
    if _profiler is None:
        return
    atexit.unregister(uninstall_profiler)
    sampler, collector, registry, previous = _profiler
    signal.setitimer(signal.ITIMER_PROF, 0, 0)
    # SIGPROF's default action kills the process: ignore any signal still in flight instead.
    if previous in (None, signal.SIG_DFL):
        previous = signal.SIG_IGN
    signal.signal(signal.SIGPROF, previous)
    registry.unregister(collector)
    _profiler = None

