"""What every daemon does the same way: logging, shutdown signals, common CLI flags."""

import argparse
import logging
import signal
import sys
from datetime import timedelta
from typing import NoReturn

import gevent
import gevent.event

LOG_FORMAT = "%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s"


def setup_logging(service: str, level: str | int = "INFO") -> None:
    """One line per record, naming the service, on stderr (the supervisor collects it)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT.format(service=service)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)


def add_common_args(parser: argparse.ArgumentParser, metrics_port: int) -> None:
    """Flags every daemon takes; metrics_port is the service's documented default."""
    parser.add_argument("--log-level", default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity (default %(default)s)")
    parser.add_argument("--metrics-port", type=port_number, default=metrics_port,
        help="port serving Prometheus /metrics (default %(default)s; 0 disables)")
    parser.add_argument("--metrics-host", default="0.0.0.0",
        help="address /metrics listens on (default %(default)s, for a Prometheus elsewhere or "
             "in another container; 127.0.0.1 keeps it to this machine)")
    parser.add_argument("--profile", action="store_true",
        help="sample stacks and export them as a flamegraph metric (costs a little CPU)")


def stop_event_on_signals() -> gevent.event.Event:
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


def one_line(exc: BaseException, limit: int = 500) -> str:
    """An exception as one line of at most `limit` characters, for a log line or an event's
    error column: whitespace (a psycopg2 DETAIL line, ffmpeg's output) collapsed, the type's
    name if it has no message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def die(message: str, code: int = 2) -> NoReturn:
    """Exit with a one-line message instead of a traceback (bad configuration, bad input)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Each option's default in --help, except where its text already names the default
    ("(default 20, 5 if --important)") or there is none to name (None, False, empty):
    argparse alone would print "(default ...) (default: None)"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default in ([], ""):
            return action.help
        return super()._get_help_string(action)


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad usage: one line saying what is wrong (not the whole usage text), exit 2."""

    def error(self, message: str) -> NoReturn:
        die(f"{self.prog}: {message} (see --help)")


# argparse types shared by the daemons: a bad value is a one-line usage error, not a traceback.

def _number(text: str, minimum: float, strict: bool, kind: type = float):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value < minimum or (strict and value == minimum):
        raise argparse.ArgumentTypeError(
            f"must be {'more than' if strict else 'at least'} {minimum}: {text!r}")
    return value


def positive_float(text: str) -> float:
    return _number(text, 0, strict=True)


def non_negative_float(text: str) -> float:
    return _number(text, 0, strict=False)


def positive_int(text: str) -> int:
    return _number(text, 1, strict=False, kind=int)


def port_number(text: str) -> int:
    """A TCP port, or 0 (for --metrics-port: disabled)."""
    value = _number(text, 0, strict=False, kind=int)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (0-65535): {text!r}")
    return value


def duration(text: str) -> timedelta:
    """A duration with a unit: 30s, 90m, 6h, 7d (or plain seconds)."""
    from .dateutil import parse_duration
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def safe_name(name: str) -> bool:
    """A stream or variant name usable as one path component."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\0" not in name


def name_list(text: str) -> list[str]:
    """'source,480p' -> ['source', '480p'], each a safe path component."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("want a comma-separated list of names")
    for name in names:
        if not safe_name(name):
            raise argparse.ArgumentTypeError(f"bad name {name!r}")
    return names


def start_daemon(args: argparse.Namespace) -> gevent.event.Event:
    """The start-up every daemon without its own HTTP server shares: serve /metrics on
    --metrics-host:--metrics-port (a port in use is a one-line error), start the stack sampler
    if --profile, and return an Event that SIGTERM/SIGINT set."""
    from .stats import install_profiler_if_requested, serve_metrics
    try:
        serve_metrics(args.metrics_port, args.metrics_host)
    except OSError as e:
        die(str(e))
    install_profiler_if_requested(args)
    return stop_event_on_signals()
