"""Operator CLI: create, inspect and move events; record manual uploads.

Every change goes through the state machine (common.events.states): a transition that is not
documented is refused with a one-line reason and a non-zero exit.
"""

import argparse
import getpass
import json
import os
import sys
from datetime import datetime

import psycopg2
import psycopg2.errors

from common import database
from common.dateutil import parse as parse_time, utcnow
from common.service import HelpFormatter, OneLineErrorParser, die, positive_int

from common.events import db as events_db, edits, states
from common.events import progress as event_progress

from . import youtube_login
from .backends import oauth

DESCRIPTION = """\
Manage the events the cutter turns into videos.

  events create --event-start T [--event-end T] [--category C] [--description D] [--notes N]
  events list [--state S] [--json]          events show ID [--json]
  events edit ID --video-start T --video-end T --title T --description D --stream S
                 --location L [--variant V] [--tags a,b] [--allow-holes] [--whitelist n1,n2]
                 [--cut-type rough|fast|full]       -> EDITED (a cutter picks it up)
  events cancel ID                          EDITED/CLAIMED -> UNEDITED
  events reset ID [--retry]                 FINALIZING/TRANSCODING -> UNEDITED
                                            (--retry: FINALIZING -> EDITED, upload again)
  manual-link ID URL                        UNEDITED/FINALIZING -> DONE, location 'manual'
  youtube-login --client-secrets FILE --out CREDENTIALS [--device]
                                            credentials for the youtube backend (no database)

ID may be a unique prefix of the event's id (4 characters or more). Times are ISO 8601
(no zone = UTC).
list and show only read: a read-only database role (or a standby) is enough for them.
Before `reset`, `reset --retry` or `manual-link` of a FINALIZING event, check at the upload
location whether the video exists: FINALIZING means the upload may have happened. If it did,
`manual-link ID URL` records its link and settles the event (DONE; no cutter uploads it again).
"""


def time_arg(text):
    try:
        return parse_time(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def list_arg(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def build_parser():
    parser = OneLineErrorParser(prog="python -m uploader", description=DESCRIPTION,
                                     formatter_class=HelpFormatter)
    parser.add_argument("--database", default=os.environ.get("UPLOADER_DATABASE"),
        help="Postgres DSN (libpq URI or key=value string); default $UPLOADER_DATABASE")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    link = commands.add_parser("manual-link", formatter_class=HelpFormatter,
        help="record a video uploaded by hand, or the one a FINALIZING upload made after all")
    link.add_argument("event_id", metavar="EVENT_ID")
    link.add_argument("url", metavar="URL")
    link.add_argument("--video-id", help="the video's id at its host, if any")
    link.add_argument("--editor", default=_default_editor(), help="who did it")

    events = commands.add_parser("events", help="create, list, show, edit, cancel, reset",
                                 formatter_class=HelpFormatter)
    actions = events.add_subparsers(dest="action", required=True, metavar="ACTION")

    create = actions.add_parser("create", help="a new UNEDITED event; prints its id",
                                formatter_class=HelpFormatter)
    create.add_argument("--event-start", type=time_arg, required=True, metavar="T",
                        help="when the moment began (ISO 8601, no zone = UTC)")
    create.add_argument("--event-end", type=time_arg, metavar="T",
                        help="when it ended (default: open, no end yet)")
    create.add_argument("--category", default="", help="e.g. speedrun, donation")
    create.add_argument("--description", default="", help="what happened (for the editors)")
    create.add_argument("--notes", default="", help="notes for the other editors")

    lister = actions.add_parser("list", help="events, oldest first", formatter_class=HelpFormatter)
    lister.add_argument("--state", choices=states.STATES)
    lister.add_argument("--limit", type=positive_int, default=100, help="at most this many")
    lister.add_argument("--json", action="store_true", help="one JSON object per line")

    show = actions.add_parser("show", help="every field of one event",
                              formatter_class=HelpFormatter)
    show.add_argument("event_id", metavar="ID")
    show.add_argument("--json", action="store_true")

    edit = actions.add_parser("edit", formatter_class=HelpFormatter,
        help="set edit inputs and mark EDITED (unset options keep their current value)")
    edit.add_argument("event_id", metavar="ID")
    edit.add_argument("--video-start", type=time_arg, help="start of the video")
    edit.add_argument("--video-end", type=time_arg, help="end of the video")
    edit.add_argument("--title", dest="video_title",
                      help="the video's title (100 characters at most, no < or >)")
    edit.add_argument("--description", dest="video_description", help="the video's description")
    edit.add_argument("--stream", dest="video_stream", help="stream name in the archive")
    edit.add_argument("--variant", dest="video_variant", help="quality (default source)")
    edit.add_argument("--tags", dest="video_tags", type=list_arg, help="comma-separated")
    edit.add_argument("--location", dest="upload_location",
                      help="upload location (a name in the cutters' config)")
    holes = edit.add_mutually_exclusive_group()
    holes.add_argument("--allow-holes", dest="allow_holes", action="store_const", const=True,
                       help="cut even if the footage has gaps")
    holes.add_argument("--no-allow-holes", dest="allow_holes", action="store_const", const=False)
    who = edit.add_mutually_exclusive_group()
    who.add_argument("--whitelist", dest="uploader_whitelist", type=list_arg,
                     help="only these cutters (comma-separated names) may upload it")
    who.add_argument("--any-cutter", action="store_true", help="clear the whitelist")
    cut = edit.add_mutually_exclusive_group()
    cut.add_argument("--cut-type", choices=edits.CUT_TYPES)
    cut.add_argument("--default-cut-type", action="store_true",
                     help="use the location's configured cut type")
    edit.add_argument("--editor", default=_default_editor(), help="who made the edit")

    cancel = actions.add_parser("cancel", help="EDITED/CLAIMED -> UNEDITED",
                                formatter_class=HelpFormatter)
    cancel.add_argument("event_id", metavar="ID")
    cancel.add_argument("--editor", default=_default_editor(), help="who did it")

    reset = actions.add_parser("reset", formatter_class=HelpFormatter,
        help="FINALIZING/TRANSCODING -> UNEDITED, after checking the upload location")
    reset.add_argument("event_id", metavar="ID")
    reset.add_argument("--retry", action="store_true",
                       help="FINALIZING -> EDITED instead: the upload did not happen, do it again")
    reset.add_argument("--editor", default=_default_editor(), help="who did it")
    youtube_login.add_parser(commands, HelpFormatter)
    return parser


def _default_editor():
    try:
        return getpass.getuser()
    except Exception:
        return "operator"


def edit_changes(args):
    plain = [name for name in edits.CUT_INPUTS if name not in ("uploader_whitelist", "cut_type")]
    changes = {name: getattr(args, name) for name in plain if getattr(args, name) is not None}
    if args.uploader_whitelist is not None or args.any_cutter:
        changes["uploader_whitelist"] = args.uploader_whitelist
    if args.cut_type is not None or args.default_cut_type:
        changes["cut_type"] = args.cut_type
    return changes


def _format(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ",".join(value)
    return "" if value is None else str(value)


def _jsonable(row):
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def print_list(rows, as_json):
    if as_json:
        for row in rows:
            print(json.dumps(_jsonable(row)))
        return
    print(f"{'ID':36}  {'STATE':11}  {'VIDEO_START':26}  {'LOCATION':10}  TITLE / ERROR")
    for row in rows:
        title = row["video_title"] or row["description"]
        if row["error"]:
            title = f"{title}  [error: {row['error']}]"
        print(f"{row['id']!s:36}  {row['state']:11}  {_format(row['video_start']):26}  "
              f"{_format(row['upload_location']):10}  {title}")


def run(args, conn):
    if args.command == "manual-link":
        event_id = events_db.resolve_id(conn, args.event_id)
        before = events_db.manual_link(conn, event_id, args.url, args.video_id,
                                       args.editor).before
        print(f"event {event_id}: {before} -> DONE, link {args.url}")
        if before == states.FINALIZING:
            print("The cutter's upload, whose outcome was unknown, is settled by this link: no "
                  "cutter will upload this event again.")
        return
    if args.action == "create":
        print(events_db.create(conn, args.event_start, args.event_end, args.category,
                               args.description, args.notes)["id"])
        return
    if args.action == "list":
        print_list(events_db.list_events(conn, args.state, args.limit), args.json)
        return
    event_id = events_db.resolve_id(conn, args.event_id)
    if args.action == "show":
        row = events_db.get(conn, event_id)
        progress = _progress(conn, event_id)
        if args.json:
            print(json.dumps(dict(_jsonable(row), progress=progress and progress.as_json()),
                             indent=1))
        else:
            for name, value in row.items():
                print(f"{name + ':':20}{_format(value)}")
            if progress is not None:
                print(f"{'progress:':20}{progress.describe(utcnow())}")
    elif args.action == "edit":
        before = events_db.edit(conn, event_id, edit_changes(args), args.editor).before
        note = " (its cutter will abandon the job in progress)" if before == states.CLAIMED else ""
        print(f"event {event_id}: {before} -> EDITED{note}")
    elif args.action == "cancel":
        before = events_db.cancel(conn, event_id, args.editor).before
        print(f"event {event_id}: {before} -> UNEDITED")
    elif args.action == "reset":
        before = events_db.reset(conn, event_id, args.retry, args.editor).before
        print(f"event {event_id}: {before} -> {'EDITED' if args.retry else 'UNEDITED'}")


def _progress(conn, event_id):
    """The event's job progress, or None. show applies no schema, so the database may predate
    the event_progress table (its cutters not yet upgraded): it then has none to show."""
    try:
        return event_progress.get(conn, event_id)
    except psycopg2.errors.UndefinedTable:
        return None


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "youtube-login":
        try:
            youtube_login.run(args)
        except (oauth.LoginError, OSError) as e:
            die(str(e), code=1)
        return 0
    if not args.database:
        die("no database: give --database DSN or set UPLOADER_DATABASE")
    # list and show only read: they work with a read-only role or on a standby, where applying
    # the schema (what every writer does first) would be refused.
    read_only = args.command == "events" and args.action in ("list", "show")
    try:
        conn = database.DBManager(args.database, schema=False if read_only else None).get_conn()
    except (ValueError, psycopg2.Error) as e:
        die(str(e).strip().splitlines()[0])
    try:
        run(args, conn)
    except events_db.EventError as e:
        die(str(e), code=1)
    except psycopg2.errors.UndefinedTable:
        die("this database has no events table: nothing of the suite has used it yet (any "
            "service, or a command that writes, such as `events create`, creates it)", code=1)
    except psycopg2.Error as e:
        if database.retry_reason(e):
            die("the event was being changed by someone else at the same moment, again and "
                "again (a cutter, another operator): try again", code=1)
        die(f"database error: {str(e).strip().splitlines()[0]}", code=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
