"""The downloader's questions about its archive, answered through common.segments' name helpers:
is a full copy of this segment stored, and which hours to search for leftover temp files."""

import os
import types
from datetime import datetime, timedelta

from common.segments import format_segment_path, parse_segment_path

from downloader.manager import StreamManager

T = datetime(2026, 11, 27, 10, 15, 30, 250000)
TWO = timedelta(seconds=2)
HASH = "Q" * 42 + "A"
# Valid HASHes that contain a type word: a substring test on the name is fooled by them.
LOOKS_FULL = "A" * 10 + "-full-" + "B" * 26 + "A"
LOOKS_TEMP = "A" * 10 + "-temp-" + "B" * 26 + "A"


def manager(base):
    return StreamManager("s", None, ["source"], str(base), master_max_age=60,
                         temp_min_age=timedelta(0))


def touch(path, data=b"x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def job(start):
    return types.SimpleNamespace(variant="source", start=start)


def test_stored_full_means_a_full_copy_starting_exactly_then(tmp_path):
    m = manager(tmp_path)
    assert not m.stored_full(job(T))  # no hour directory yet
    touch(format_segment_path(str(tmp_path), "s", "source", T, TWO, "partial", LOOKS_FULL))
    touch(format_segment_path(str(tmp_path), "s", "source", T, TWO, "temp", "abc"))
    touch(format_segment_path(str(tmp_path), "s", "source", T + timedelta(microseconds=1), TWO,
                              "full", HASH))
    assert not m.stored_full(job(T))
    touch(format_segment_path(str(tmp_path), "s", "source", T, TWO, "full", HASH))
    assert m.stored_full(job(T))


def test_recovery_searches_the_newest_two_hours_whatever_else_is_in_the_variant(tmp_path):
    m = manager(tmp_path)
    base = str(tmp_path)
    temps = [touch(format_segment_path(base, "s", "source", T + h * timedelta(hours=1), TWO,
                                       "temp", f"id{h}")) for h in range(3)]
    full = touch(format_segment_path(base, "s", "source", T + timedelta(hours=2, seconds=2), TWO,
                                     "full", LOOKS_TEMP))
    variant_dir = tmp_path / "s" / "source"
    (variant_dir / "zz-not-an-hour").mkdir()  # sorts after every hour
    (variant_dir / "variant.json").write_text("{}")
    m.recover_recent()
    # The oldest hour is left alone (start-up of a later writer is not this test's business);
    # the newest two hours' temp files become partials.
    assert os.path.exists(temps[0])
    for h in (1, 2):
        assert not os.path.exists(temps[h])
        hour_dir = os.path.dirname(temps[h])
        types_there = sorted(parse_segment_path(os.path.join(hour_dir, n)).type
                             for n in os.listdir(hour_dir))
        assert types_there == (["full", "partial"] if h == 2 else ["partial"])
    assert os.path.exists(full)  # a full segment is never taken for a temp file
