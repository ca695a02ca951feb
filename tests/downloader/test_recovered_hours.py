"""The downloader's memory of hour directories it recovered temp files in stays bounded: a
daemon writing into a new hour every hour for months must not grow with it."""

import os
from datetime import datetime, timedelta
from types import SimpleNamespace

import requests

from common.segments import format_segment_path
from downloader import manager as manager_module
from downloader.manager import StreamManager
from downloader.sources import HLSSource


def test_recovered_hours_stay_bounded_and_recovery_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(manager_module, "RECOVERED_HOURS_MEMORY", 4)
    session = requests.Session()
    manager = StreamManager("s", HLSSource(session, "http://127.0.0.1:9/master.m3u8"), "all",
                            str(tmp_path), session=session, temp_min_age=timedelta(0))
    start = datetime(2026, 1, 1)
    for hour in range(50):
        job = SimpleNamespace(variant="source", start=start + timedelta(hours=hour))
        manager.recover_hour(job)
    assert len(manager.recovered_hours) == 4

    # A dead writer's temp file in a hour long forgotten is still recovered when written into.
    late = start + timedelta(minutes=5)
    temp = format_segment_path(str(tmp_path), "s", "source", late, timedelta(seconds=2),
                               "temp", "abc")
    os.makedirs(os.path.dirname(temp))
    with open(temp, "wb") as f:
        f.write(b"bytes")
    manager.recover_hour(SimpleNamespace(variant="source", start=late))
    assert not os.path.exists(temp)
    assert [n for n in os.listdir(os.path.dirname(temp)) if "-partial-" in n]
