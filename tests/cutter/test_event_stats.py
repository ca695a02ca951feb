"""The cutter's database-wide event figures (the alerts' and dashboards' input)."""

from datetime import timedelta

from prometheus_client import REGISTRY

from common import database
from common.events import progress as event_progress
from cutter import event_stats
from cutter_testing import T0, seconds

NOW = T0 + timedelta(days=1)


def value(name, state):
    return REGISTRY.get_sample_value(name, {"state": state})


def test_overdue_is_the_expected_duration_of_the_video():
    hour = 3600.0
    limit = event_progress.expected_duration(hour)
    assert limit == timedelta(minutes=10) + timedelta(hours=2)
    in_flight = [("CLAIMED", NOW - limit - seconds(1), hour),
                 ("CLAIMED", NOW - limit + seconds(1), hour),
                 ("FINALIZING", NOW - timedelta(minutes=11), 0),
                 ("FINALIZING", NOW - timedelta(minutes=9), None)]
    assert event_stats.overdue(in_flight, NOW) == {"CLAIMED": 1, "FINALIZING": 1}


def test_refresh_counts_states_errors_and_overdue_jobs(events):
    conn = events.conn
    events.cli("events", "create", "--event-start", T0.isoformat())
    waiting = events.create_edited(T0, T0 + seconds(60))
    database.query(conn, "UPDATE events SET error = 'node n lacks footage' WHERE id = %s", waiting)
    late, recent, untracked = (events.create_edited(T0, T0 + seconds(60)) for _ in range(3))
    for event_id in (late, recent, untracked):
        database.query(conn, "UPDATE events SET state = 'CLAIMED', uploader = 'n' WHERE id = %s",
                       event_id)
    # A minute of video is expected within 12 minutes.
    event_progress.record(conn, late, "n", "cut", 10, NOW - timedelta(minutes=13), NOW)
    event_progress.record(conn, recent, "n", "cut", 10, NOW - timedelta(minutes=11), NOW)

    event_stats.refresh(conn, NOW)
    assert value("cutter_events", "UNEDITED") == 1
    assert value("cutter_events", "EDITED") == 1
    assert value("cutter_events", "CLAIMED") == 3
    assert value("cutter_events", "DONE") == 0
    assert value("cutter_events_with_error", "EDITED") == 1
    assert value("cutter_events_with_error", "CLAIMED") == 0
    assert value("cutter_events_overdue", "CLAIMED") == 1
    assert value("cutter_events_overdue", "FINALIZING") == 0

    database.query(conn, "UPDATE events SET state = 'FINALIZING' WHERE id = %s", late)
    event_stats.refresh(conn, NOW)
    assert value("cutter_events_overdue", "CLAIMED") == 0
    assert value("cutter_events_overdue", "FINALIZING") == 1
    assert value("cutter_events", "FINALIZING") == 1
