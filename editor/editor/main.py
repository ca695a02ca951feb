"""python -m editor: the editors' web app; python -m editor users ...: its accounts."""

import argparse
import ipaddress
import logging
import os
import socket
import sys
import urllib.parse

import psycopg2

from common import database
from common.events.edits import MANUAL_LOCATION
from common.service import (HelpFormatter, OneLineErrorParser, die, duration, port_number,
                            positive_int, setup_logging, stop_event_on_signals)

from . import accounts

log = logging.getLogger("editor")

DRAIN_SECONDS = 10
DEFAULT_PORT = 8005

DESCRIPTION = """\
Serve the editors' web page and its JSON API (/api/...; see editor/README.md): editors find a
moment in the archive, mark it to the frame, fill in title and description and submit it to the
cutter. Video plays straight from the restreamers (--restreamer-url); nothing but JSON and the
page passes through here.

Accounts (each prints or changes what is stored in the database given by --database):
  python -m editor users add NAME [--admin] --database DSN   prints NAME's login token, once
  python -m editor users list --database DSN
  python -m editor users remove NAME --database DSN          also ends NAME's sessions
"""


def _database_arg(parser):
    parser.add_argument("--database", default=os.environ.get("EDITOR_DATABASE"),
        help="Postgres DSN (libpq URI or key=value string); default $EDITOR_DATABASE")


def serve_parser():
    parser = OneLineErrorParser(prog="python -m editor", description=DESCRIPTION,
                                formatter_class=HelpFormatter)
    _database_arg(parser)
    parser.add_argument("--restreamer-url", action="extend", type=url_list, default=[],
        metavar="URL", help="public URL of a restreamer, as the editors' browsers reach it "
        "(repeatable, or comma separated: the page falls back to the next when one fails); "
        "the streams and variants offered are what these list")
    parser.add_argument("--location", action="extend", type=location_list, default=[],
        metavar="NAME", help="an upload location editors may choose (repeatable, or comma "
        "separated; names from the cutters' config)")
    parser.add_argument("--max-cut-duration", type=duration, default="6h",
        help="longest video an editor may submit (30s, 90m, 6h...)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
        help="port for the page, the API and /metrics")
    parser.add_argument("--no-auth", action="store_true",
        help="no accounts: everyone is one anonymous admin. Only with a loopback --host "
             "(for one person on their own machine)")
    parser.add_argument("--session-lifetime", type=duration, default="24h",
        help="how long a sign-in lasts")
    parser.add_argument("--secure-cookies", action="store_true",
        help="mark the session cookie Secure (https only) even when requests reach this "
             "server over plain http (behind a TLS-terminating proxy)")
    parser.add_argument("--proxy-hops", type=int, default=0, metavar="N",
        help="trust the last N X-Forwarded-For/-Proto entries (set to the number of reverse "
             "proxies in front, so sign-in limits apply per client, not per proxy)")
    parser.add_argument("--db-connections", type=positive_int, default=8,
        help="Postgres connections at most")
    parser.add_argument("--log-level", default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity")
    parser.add_argument("--profile", action="store_true",
        help="sample stacks and export them as a flamegraph metric on /metrics")
    return parser


def users_parser():
    parser = OneLineErrorParser(prog="python -m editor users",
        description="Manage the editors' accounts.", formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", formatter_class=HelpFormatter,
        help="create an account and print its login token (shown only this once)")
    add.add_argument("name", metavar="NAME", help=accounts.NAME_RULE)
    add.add_argument("--admin", action="store_true",
        help="may also reset events and record manual links")
    _database_arg(add)
    lister = commands.add_parser("list", help="accounts and their open sessions",
                                 formatter_class=HelpFormatter)
    _database_arg(lister)
    remove = commands.add_parser("remove", help="delete an account and end its sessions",
                                 formatter_class=HelpFormatter)
    remove.add_argument("name", metavar="NAME")
    _database_arg(remove)
    return parser


def url_list(text):
    """'http://a:8000,http://b:8000' -> ['http://a:8000', 'http://b:8000']"""
    urls = [url.strip().rstrip("/") for url in text.split(",") if url.strip()]
    if not urls:
        raise argparse.ArgumentTypeError("want a URL (or several, comma separated)")
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise argparse.ArgumentTypeError(f"not an http(s) URL: {url!r}")
    return urls


def location_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("want a location name (or several, comma separated)")
    if MANUAL_LOCATION in names:
        raise argparse.ArgumentTypeError(f"{MANUAL_LOCATION!r} is reserved for manual links")
    return names


def is_loopback(host):
    """True if every address `host` names is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def users_main(argv):
    args = users_parser().parse_args(argv)
    conn = _connect(args.database)
    try:
        if args.command == "add":
            token = accounts.add_user(conn, args.name, args.admin)
            print(f"user {args.name} added{' (admin)' if args.admin else ''}. Login token "
                  "(shown only now; give it to them, it signs in on the page):",
                  file=sys.stderr)
            print(token)
        elif args.command == "list":
            print(f"{'NAME':24} {'ADMIN':5}  {'CREATED':19}  SESSIONS")
            for user in accounts.list_users(conn):
                print(f"{user.name:24} {'yes' if user.admin else 'no':5}  "
                      f"{user.created:%Y-%m-%d %H:%M:%S}  {user.sessions}")
        else:
            accounts.remove_user(conn, args.name)
            print(f"user {args.name} removed; their sessions have ended")
    except accounts.AccountError as e:
        die(str(e), code=1)
    except psycopg2.Error as e:
        die(f"database error: {str(e).strip().splitlines()[0]}", code=1)
    return 0


def _connect(dsn):
    if not dsn:
        die("no database: give --database DSN or set EDITOR_DATABASE")
    try:
        return database.DBManager(dsn).get_conn()
    except (ValueError, psycopg2.Error) as e:
        die(str(e).strip().splitlines()[0])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["users"]:
        return users_main(argv[1:])
    parser = serve_parser()
    args = parser.parse_args(argv)
    if args.no_auth and not is_loopback(args.host):
        parser.error(f"--no-auth lets anyone who reaches the server edit as an admin: it needs "
                     f"a loopback --host (127.0.0.1, ::1), not {args.host}")
    if not args.restreamer_url:
        parser.error("give at least one --restreamer-url (where the page plays video from)")
    if not args.location:
        parser.error("give at least one --location (where editors may upload to)")
    if args.proxy_hops < 0:
        parser.error("--proxy-hops must be 0 or more")
    setup_logging("editor", args.log_level)
    if not args.database:
        die("no database: give --database DSN or set EDITOR_DATABASE")
    serve(args)


def serve(args):
    from common.http_server import make_server
    from common.stats import install_profiler_if_requested

    from .app import Config, create_app
    from .pool import ConnectionPool

    install_profiler_if_requested(args)
    try:
        db = database.DBManager(args.database)
        db.get_conn().close()  # the schema, and a clear error now rather than per request
    except (ValueError, psycopg2.Error) as e:
        die(str(e).strip().splitlines()[0])
    pool = ConnectionPool(db, args.db_connections)
    locations = list(dict.fromkeys(args.location))  # in order, each once
    config = Config(list(dict.fromkeys(args.restreamer_url)), locations,
                    args.max_cut_duration, args.no_auth,
                    args.session_lifetime, secure_cookie=args.secure_cookies)
    app = create_app(config, pool)
    if args.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=args.proxy_hops, x_proto=args.proxy_hops)
    server = make_server(app, args.host, args.port, service="editor")
    stop = stop_event_on_signals()
    try:
        server.start()
    except OSError as e:
        die(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    log.info("serving the editor on http://%s:%d/%s", host, server.server_port,
             " (no accounts: --no-auth)" if args.no_auth else "")
    stop.wait()
    log.info("stopping: waiting up to %ds for %d request(s) in flight", DRAIN_SECONDS,
             server.in_flight())
    server.drain(DRAIN_SECONDS)
    pool.close()
    log.info("stopped")
