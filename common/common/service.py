"""What every daemon does the same way: logging, shutdown signals, common CLI flags."""

import argparse
import logging
import signal
import sys

import gevent
import gevent.event

LOG_FORMAT = "%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s"


def setup_logging(service, level="INFO"):
    """One line per record, naming the service, on stderr (the supervisor collects it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT.format(service=service)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)


def add_common_args(parser, metrics_port):
    """Flags every daemon takes; metrics_port is the service's documented default."""
    parser.add_argument("--log-level", default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity (default %(default)s)")
    parser.add_argument("--metrics-port", type=port_number, default=metrics_port,
        help="port serving Prometheus /metrics (default %(default)s; 0 disables)")
    parser.add_argument("--profile", action="store_true",
        help="sample stacks and export them as a flamegraph metric (costs a little CPU)")


def stop_event_on_signals():
    """Return an Event set on the first SIGTERM/SIGINT; a second signal exits at once."""
    stop = gevent.event.Event()

    def handler():
        if stop.is_set():
            logging.warning("second stop signal, exiting immediately")
            sys.exit(1)
        logging.info("stop signal received, shutting down")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, handler)
    return stop


def die(message, code=2):
    """Exit with a one-line message instead of a traceback (bad configuration, bad input)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad usage: one line saying what is wrong (not the whole usage text), exit 2."""

    def error(self, message):
        die(f"{self.prog}: {message} (see --help)")


# argparse types shared by the daemons: a bad value is a one-line usage error, not a traceback.

def _number(text, minimum, strict, kind=float):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(
            f"must be {'more than' if strict else 'at least'} {minimum}: {text!r}")
    return value


def positive_float(text):
    return _number(text, 0, strict=True)


def non_negative_float(text):
    return _number(text, 0, strict=False)


def positive_int(text):
    return _number(text, 1, strict=False, kind=int)


def port_number(text):
    """A TCP port, or 0 (for --metrics-port: disabled)."""
    value = _number(text, 0, strict=False, kind=int)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (0-65535): {text!r}")
    return value


def duration(text):
    """A duration with a unit: 30s, 90m, 6h, 7d (or plain seconds)."""
    from .dateutil import parse_duration
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def safe_name(name):
    """A stream or variant name usable as one path component."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\0" not in name


def name_list(text):
    """'source,480p' -> ['source', '480p'], each a safe path component."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("want a comma-separated list of names")
    for name in names:
        if not safe_name(name):
            raise argparse.ArgumentTypeError(f"bad name {name!r}")
    return names


def start_daemon(args):
    """The start-up every daemon without its own HTTP server shares: serve /metrics on
    --metrics-port (a port in use is a one-line error), start the stack sampler if --profile,
    and return an Event that SIGTERM/SIGINT set."""
    from .stats import install_profiler_if_requested, serve_metrics
    try:
        serve_metrics(args.metrics_port)
    except OSError as e:
        die(str(e))
    install_profiler_if_requested(args)
    return stop_event_on_signals()
