"""The schema in real Postgres: each CHECK constraint rejects its bad row, the schema can be
applied again and again (also over an older version), and the cutter's query uses its index."""

from datetime import datetime, timedelta

import psycopg2
import psycopg2.errors
import pytest

from common import database

T0 = datetime(2026, 11, 27, 12)
EDIT = dict(video_start=T0, video_end=T0 + timedelta(seconds=10), video_title="T",
            video_description="D", video_stream="main", upload_location="archive",
            editor="ed", edit_time=T0)
OWNED = dict(EDIT, uploader="node1")
VALID = {
    "UNEDITED": {},
    "EDITED": EDIT,
    "CLAIMED": OWNED,
    "FINALIZING": OWNED,
    "TRANSCODING": dict(OWNED, video_id="v", video_link="http://v"),
    "DONE": dict(OWNED, video_id="v", video_link="http://v", upload_time=T0),
}
IN_PROGRESS = ("EDITED", "CLAIMED", "FINALIZING", "TRANSCODING")
VIOLATIONS = (
    [(state, {col: None}, f"events_{col}_set") for state in IN_PROGRESS
     for col in ("video_start", "video_end", "video_title", "video_description", "video_stream")]
    + [(state, {"upload_location": None}, "events_upload_location_set")
       for state in IN_PROGRESS + ("DONE",)]
    + [(state, {"uploader": None}, "events_uploader_set")
       for state in ("CLAIMED", "FINALIZING", "TRANSCODING")]
    + [("DONE", {"uploader": None}, "events_uploader_set_done"),
       ("DONE", {"video_link": None}, "events_video_link_set"),
       ("DONE", {"upload_time": None}, "events_upload_time_set")]
    + [(state, {col: None}, f"events_{col}_set") for state in IN_PROGRESS + ("DONE",)
       for col in ("editor", "edit_time")]
    + [("EDITED", {"video_end": T0}, "events_video_range"),
       ("UNEDITED", {"video_start": T0, "video_end": T0 - timedelta(seconds=1)},
        "events_video_range"),
       ("EDITED", {"cut_type": "slow"}, "events_cut_type_known")]
)


@pytest.fixture(scope="module")
def conn(postgres_server):
    from support.postgres import throwaway_database
    with throwaway_database(postgres_server) as dsn:
        connection = database.DBManager(dsn).get_conn()
        yield connection
        connection.close()


def insert(conn, state, values):
    values = dict(values, state=state)
    names = sorted(values)
    database.query(conn, f"INSERT INTO events ({', '.join(names)}) VALUES "
                         f"({', '.join(['%s'] * len(names))})", *[values[n] for n in names])


@pytest.mark.parametrize("state", sorted(VALID))
def test_valid_rows_are_accepted(conn, state):
    insert(conn, state, VALID[state])


def test_manual_done_needs_no_edit_fields_nor_uploader(conn):
    insert(conn, "DONE", dict(upload_location="manual", video_link="http://x", upload_time=T0,
                              editor="ed", edit_time=T0))


@pytest.mark.parametrize("state,change,constraint", VIOLATIONS,
                         ids=[f"{s}-{c}-{next(iter(ch))}" for s, ch, c in VIOLATIONS])
def test_constraint_rejects_bad_row(conn, state, change, constraint):
    with pytest.raises(psycopg2.errors.CheckViolation) as info:
        insert(conn, state, dict(VALID[state], **change))
    assert info.value.diag.constraint_name == constraint


def test_schema_applies_again_and_over_an_older_version(db_dsn):
    old = """
        CREATE TYPE event_state AS ENUM ('UNEDITED', 'EDITED', 'CLAIMED', 'FINALIZING',
                                         'TRANSCODING', 'DONE');
        CREATE TABLE events (id UUID PRIMARY KEY, event_start TIMESTAMP,
                             state event_state NOT NULL DEFAULT 'UNEDITED');
        INSERT INTO events (id, event_start) VALUES (gen_random_uuid(), '2026-11-27 10:00');
    """
    database.DBManager(db_dsn, schema=old).get_conn().close()
    for _ in range(2):
        conn = database.DBManager(db_dsn).get_conn()
    row = database.query(conn, "SELECT video_variant, video_tags, allow_holes FROM events"
                         ).fetchone()
    assert row == ("source", [], False)
    constraints = database.query(conn, "SELECT count(*) FROM pg_constraint WHERE conrelid = "
                                       "'events'::regclass AND contype = 'c'").fetchone()[0]
    assert constraints == 14
    database.query(conn, "INSERT INTO nodes (name, url) VALUES ('a', 'http://a:8000')")
    assert database.query(conn, "SELECT backfill_from FROM nodes").fetchone()[0] is True


def test_candidate_query_uses_the_partial_index(db_dsn):
    from cutter import jobs
    conn = database.DBManager(db_dsn).get_conn()
    database.query(conn, """
        INSERT INTO events (state, upload_location, video_start, video_end, video_title,
            video_description, video_stream, uploader, video_link, upload_time, editor, edit_time)
        SELECT 'DONE', 'archive', %s, %s, 't', 'd', 'main', 'n', 'http://x', %s, 'e', %s
        FROM generate_series(1, 5000)
    """, T0, T0 + timedelta(seconds=1), T0, T0)
    insert(conn, "EDITED", EDIT)
    database.query(conn, "ANALYZE events")
    plan = "\n".join(r[0] for r in database.query(
        conn, "EXPLAIN " + jobs.CANDIDATES_SQL, locations=["archive"], name="n").fetchall())
    assert "events_edited_by_location" in plan, plan


def test_a_constraint_added_later_does_not_stop_a_database_with_old_rows(db_dsn):
    conn = database.DBManager(db_dsn).get_conn()
    # A database from before events_uploader_set_done, holding a row that breaks it.
    database.query(conn, "ALTER TABLE events DROP CONSTRAINT events_uploader_set_done")
    insert(conn, "DONE", dict(VALID["DONE"], uploader=None))
    database.DBManager(db_dsn).get_conn().close()  # a service starting: the schema applies
    with pytest.raises(psycopg2.errors.CheckViolation):
        insert(conn, "DONE", dict(VALID["DONE"], uploader=None))
