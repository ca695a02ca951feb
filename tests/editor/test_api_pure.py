"""The editor's pure parts: the sign-in throttle (bounded, expiring), JSON field checks, and the
stream catalog's caching against a real restreamer."""

from datetime import datetime

import pytest

from editor.fields import ApiError, event_json, parse_list_args, parse_value
from editor.streams import StreamCatalog, StreamsUnknown
from editor.throttle import SignInThrottle
from support.waiting import free_port, wait_for


def test_throttle_after_five_failures_within_the_window():
    throttle = SignInThrottle(limit=5, window=60)
    for t in range(5):
        assert throttle.retry_after("a", t) == 0
        throttle.failed("a", t)
    assert throttle.retry_after("a", 5) == 55  # until the oldest failure leaves the window
    assert throttle.retry_after("b", 5) == 0  # per address
    assert throttle.retry_after("a", 59.5) == 0.5
    assert throttle.retry_after("a", 60) == 0  # one failure left the window: one more try
    throttle.failed("a", 60)
    assert throttle.retry_after("a", 60) == 1  # and again five within a minute


def test_throttle_spread_failures_never_lock_out():
    throttle = SignInThrottle(limit=5, window=60)
    for t in range(0, 1000, 13):  # one failure every 13 s: at most 5 in any minute
        assert throttle.retry_after("a", t) == 0
        throttle.failed("a", t)


def test_throttle_memory_is_bounded_and_expires():
    throttle = SignInThrottle(limit=5, window=60, max_addresses=100)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", i / 1000)
    assert len(throttle) == 100
    assert throttle.retry_after("10.0.3.231", 1) == 0 and len(throttle) == 100
    throttle.failed("x", 100)  # everything else is older than the window now
    assert len(throttle) == 1


@pytest.mark.parametrize("name,value,expected", [
    ("video_start", "2026-11-27T10:00:04.033Z", datetime(2026, 11, 27, 10, 0, 4, 33000)),
    ("video_start", "2026-11-27T10:00:04", datetime(2026, 11, 27, 10, 0, 4)),
    ("video_start", "2026-11-27 10:00:04.5+00:00", datetime(2026, 11, 27, 10, 0, 4, 500000)),
    ("video_start", None, None),
    ("video_tags", ["a", "b c"], ["a", "b c"]),
    ("uploader_whitelist", None, None),
    ("allow_holes", True, True),
])
def test_values(name, value, expected):
    assert parse_value(name, value) == expected


@pytest.mark.parametrize("name,value,reason", [
    ("video_start", "2026-11-27T10:00:04+01:00", "not a UTC ISO 8601 timestamp"),
    ("video_start", "2026-13-01T00:00:00Z", "not a valid time"),
    ("video_start", 5, "must be a UTC ISO 8601 time string"),
    ("event_start", None, "must not be null"),
    ("video_tags", [1], "video_tags must be a string"),
    ("video_tags", None, "must not be null"),
    ("allow_holes", 1, "true or false"),
    ("video_title", ["x"], "must be a string"),
])
def test_bad_values(name, value, reason):
    with pytest.raises(ApiError, match=reason):
        parse_value(name, value)


def test_list_args():
    assert parse_list_args({}) == (None, None, 100)
    assert parse_list_args({"state": "DONE", "q": "boss", "limit": "5"}) == ("DONE", "boss", 5)
    assert parse_list_args({"state": "", "q": ""}) == (None, None, 100)


def test_event_json_times_are_utc_with_milliseconds():
    row = {"id": "x", "event_start": datetime(2026, 11, 27, 10, 0, 4, 33999), "event_end": None,
           "video_tags": ["a"], "version": 3}
    assert event_json(row) == {"id": "x", "event_start": "2026-11-27T10:00:04.033Z",
                               "event_end": None, "video_tags": ["a"], "version": 3}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_catalog_keeps_its_answer_and_refreshes_in_the_background(restreamer):
    clock = Clock()
    dead = f"http://127.0.0.1:{free_port()}"
    catalog = StreamCatalog([dead, restreamer.url], max_age=30, clock=clock)
    assert catalog.get() == {"main": ["480p", "source"]}
    catalog.urls = [dead]  # every restreamer gone
    clock.now = 20
    assert catalog.get() == {"main": ["480p", "source"]} and catalog._refreshing is None
    clock.now = 31
    assert catalog.get() == {"main": ["480p", "source"]}  # at once, the kept answer
    wait_for(lambda: catalog._refreshing is None and catalog.error, message="the refresh")
    assert catalog.get() == {"main": ["480p", "source"]}  # still kept after the failure
    assert "Connection" in catalog.error


def test_catalog_without_any_answer(restreamer):
    catalog = StreamCatalog([f"http://127.0.0.1:{free_port()}", restreamer.url + "/nothing"])
    with pytest.raises(StreamsUnknown, match="404"):
        catalog.get()
