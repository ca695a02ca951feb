"""The helpers other modules use instead of taking segment names apart themselves:
format_hour_path, read_hour, start_prefix, names_starting_at, name_type, name_hash, is_temp."""

import hashlib
import os
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from common.segment_files import recover_temp_files
from common.segments import (TYPES, format_hour_path, format_segment_path, hash_name, is_temp,
                             name_hash, name_type, names_starting_at, parse_segment_path,
                             read_hour, segment_file_name, start_prefix)

HASH = hash_name(hashlib.sha256(b"x").digest())
# A valid HASH (43 url-safe base64 characters) that a substring test would take for a type.
TRICKY_HASH = "A" * 10 + "-temp-" + "B" * 26 + "A"
T = datetime(2026, 11, 27, 13, 45, 51, 608000)
TWO = timedelta(seconds=2)

starts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))


@given(starts, st.sampled_from(["full", "partial", "suspect"]))
def test_every_name_written_for_a_start_begins_with_its_prefix(start, type):
    name = segment_file_name(start, TWO, type, HASH)
    assert name.startswith(start_prefix(start))
    # ...and it is what places the segment within its hour.
    parsed = parse_segment_path(os.path.join(format_hour_path("/b", "s", "v", start), name))
    assert parsed.start == start
    assert start_prefix(start) != start_prefix(start + timedelta(microseconds=1))


def test_hour_path_is_the_directory_of_the_segments_of_that_hour():
    path = format_segment_path("/base", "s", "v", T, TWO, "full", HASH)
    assert format_hour_path("/base", "s", "v", T) == os.path.dirname(path) \
        == "/base/s/v/2026-11-27T13"
    assert format_hour_path("/base", "s", "v", T.replace(minute=0, second=0, microsecond=0)) \
        == os.path.dirname(path)


def test_name_fields_are_read_from_the_right_places():
    for type in TYPES:
        name = segment_file_name(T, TWO, type, HASH)
        assert name_type(name) == type and name_hash(name) == HASH
        assert is_temp(name) == (type == "temp")
    temp = segment_file_name(T, TWO, "temp", "a-b_c")  # temp ids are url-safe base64 too
    assert is_temp(temp) and name_hash(temp) == "a-b_c"


def test_a_hash_containing_a_type_word_does_not_fool_the_checks():
    name = segment_file_name(T, TWO, "full", TRICKY_HASH)
    assert parse_segment_path(name).hash == TRICKY_HASH  # a valid name
    assert "-temp-" in name  # what the hand-written checks used to look for
    assert not is_temp(name)
    assert name_type(name) == "full" and name_hash(name) == TRICKY_HASH


def test_names_that_are_not_segments_have_no_fields():
    for junk in ["notes.txt", "variant.json", "45:51.608000-2.000-temp-abc.ts.tmp",
                 "45:51.608000-2.000.ts", ".hidden-x-temp-y"]:
        assert name_type(junk) is None and name_hash(junk) is None and not is_temp(junk)


def test_names_starting_at_picks_every_type_of_that_start_only():
    at = [segment_file_name(T, TWO, "full", HASH), segment_file_name(T, TWO * 2, "partial", HASH),
          segment_file_name(T, TWO, "temp", "abc")]
    others = [segment_file_name(T + timedelta(microseconds=1), TWO, "full", HASH),
              segment_file_name(T - timedelta(seconds=1), TWO, "full", HASH),
              "notes.txt"]
    assert names_starting_at(others + at, T) == at
    assert names_starting_at(iter(at), T) == at  # any iterable


def test_read_hour_lists_a_directory_and_says_when_there_is_none(tmp_path):
    hour = tmp_path / "s" / "v" / "2026-11-27T13"
    assert read_hour(str(hour)) is None
    hour.mkdir(parents=True)
    assert read_hour(str(hour)) == []
    names = {segment_file_name(T, TWO, "full", HASH), segment_file_name(T, TWO, "temp", "abc"),
             "notes.txt"}
    for name in names:
        (hour / name).write_bytes(b"x")
    assert set(read_hour(str(hour))) == names
    assert read_hour(str(hour / "notes.txt")) is None  # a file where a directory should be


def test_recovery_leaves_a_full_segment_whose_hash_looks_like_temp(tmp_path):
    hour = tmp_path / "2026-11-27T13"
    hour.mkdir()
    full = hour / segment_file_name(T, TWO, "full", TRICKY_HASH)
    full.write_bytes(b"data")
    temp = hour / segment_file_name(T + TWO, TWO, "temp", "abc")
    temp.write_bytes(b"data")
    old = 1_000_000_000
    for path in (full, temp):
        os.utime(path, (old, old))
    recovered = recover_temp_files(str(hour), min_age=timedelta(0))
    assert [parse_segment_path(p).type for p in recovered] == ["partial"]
    assert full.exists() and not temp.exists()
    assert sorted(read_hour(str(hour))) == sorted([full.name, os.path.basename(recovered[0])])
