import os
import stat
from datetime import datetime, timezone

import pytest

from common import dateutil
from common.fs import atomic_write, jitter


@pytest.mark.parametrize("text,expected", [
    ("2026-11-27T13:00:00", datetime(2026, 11, 27, 13)),
    ("2026-11-27T13:00:00Z", datetime(2026, 11, 27, 13)),
    ("2026-11-27T13:00:00.5+00:00", datetime(2026, 11, 27, 13, 0, 0, 500000)),
    ("2026-11-27T13:00:00.123456Z", datetime(2026, 11, 27, 13, 0, 0, 123456)),
    ("2026-11-27T14:30:00+01:30", datetime(2026, 11, 27, 13)),
    ("2026-11-27T08:00:00-05:00", datetime(2026, 11, 27, 13)),
])
def test_parse_any_zone_to_naive_utc(text, expected):
    assert dateutil.parse(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("2026-11-27T13:00:00", datetime(2026, 11, 27, 13)),
    ("2026-11-27T13:00:00Z", datetime(2026, 11, 27, 13)),
    ("2026-11-27T13:00:00+00:00", datetime(2026, 11, 27, 13)),
    ("2026-11-27T13:00:00.25", datetime(2026, 11, 27, 13, 0, 0, 250000)),
    ("2026-11-27T13:00:00.123456Z", datetime(2026, 11, 27, 13, 0, 0, 123456)),
])
def test_parse_utc_only_accepts_utc(text, expected):
    assert dateutil.parse_utc_only(text) == expected


@pytest.mark.parametrize("text", ["2026-11-27T13:00:00+01:00", "yesterday", "", "2026-13-01T00:00:00",
                                  "2026-11-27T13:00:00-05:00", "2026-11-27T25:00:00"])
def test_parse_utc_only_rejects(text):
    with pytest.raises(ValueError):
        dateutil.parse_utc_only(text)


def test_parse_rejects_garbage():
    with pytest.raises(ValueError, match="garbage"):
        dateutil.parse("garbage")


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_parse_out_of_range_after_conversion_is_a_value_error(text):
    with pytest.raises(ValueError, match="not a representable time in UTC"):
        dateutil.parse(text)


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "f.json"
    atomic_write(str(path), "one")
    atomic_write(str(path), b"two")
    assert path.read_bytes() == b"two"
    assert os.listdir(tmp_path / "sub") == ["f.json"]


def test_atomic_write_with_a_mode_ignores_the_umask(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    old = os.umask(0)  # would leave a plain new file world-writable
    try:
        atomic_write(str(path), "new", mode=0o600)
        atomic_write(str(tmp_path / "plain"), "x")
    finally:
        os.umask(old)
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o666


def test_jitter_stays_in_bounds():
    values = [jitter(10, 0.1) for _ in range(200)]
    assert all(9 <= v <= 11 for v in values) and len(set(values)) > 1


@pytest.mark.parametrize("service", ["downloader", "backfiller", "cutter", "segment_coverage"])
@pytest.mark.parametrize("port", ["99999", "-1", "x"])
def test_metrics_port_out_of_range_is_a_usage_error(service, port):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", service, "--metrics-port", port],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "argument --metrics-port:" in result.stderr.splitlines()[-1]


def test_utcnow_is_naive_utc():
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    now = dateutil.utcnow()
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert now.tzinfo is None
    assert before <= now <= after


def test_atomic_write_sets_the_modified_time_before_the_rename(tmp_path):
    path = tmp_path / "info.json"
    atomic_write(str(path), "{}", modified=1_000_000_000.5)
    assert path.stat().st_mtime == 1_000_000_000.5
    assert os.listdir(tmp_path) == ["info.json"]  # no temp file left
