"""The cutter's pure decisions: cut plans, failure classes, config parsing, claim guards."""

import pytest

from common.events.edits import CUT_INPUTS
from cutter import jobs
from cutter.config import parse_config
from uploader.backends import ConfigError, UploadError, UploadUnknown, make_backend


def location(tmp_path, cut_type=None, **options):
    return parse_config({"locations": {"loc": dict(
        {"backend": "local", "options": dict(directory=str(tmp_path), **options)},
        **({"cut_type": cut_type} if cut_type else {}))}})["loc"]


def test_cut_plan_precedence(tmp_path):
    plain = location(tmp_path)
    assert jobs.plan_cut(None, plain) == ("fast", "mp4", None)
    assert jobs.plan_cut("rough", plain) == ("rough", "mpegts", None)
    encoding = location(tmp_path, encode_args=["-c:v", "libx264"])
    assert jobs.plan_cut(None, encoding) == ("full", "mp4", ["-c:v", "libx264"])
    assert jobs.plan_cut("fast", encoding).cut_type == "fast"
    assert jobs.plan_cut(None, location(tmp_path, cut_type="rough")).cut_type == "rough"
    assert jobs.plan_cut("full", plain) == ("full", "mp4", None)


@pytest.mark.parametrize("exc,finalizing,outcome,state", [
    (UploadError("x", retryable=True), False, jobs.RETRYABLE, "EDITED"),
    (UploadError("x", retryable=True), True, jobs.RETRYABLE, "EDITED"),
    (UploadError("x"), True, jobs.PERMANENT, "UNEDITED"),
    (UploadError("x"), False, jobs.PERMANENT, "UNEDITED"),
    (RuntimeError("ffmpeg died"), False, jobs.RETRYABLE, "EDITED"),
    (UploadUnknown("timeout"), True, jobs.UNKNOWN, None),
    (ConnectionResetError(), True, jobs.UNKNOWN, None),
])
def test_failure_classes(exc, finalizing, outcome, state):
    assert jobs.classify_failure(exc, finalizing)[:2] == (outcome, state)


def test_claim_guards_every_cut_input():
    row = {name: f"v-{name}" for name in CUT_INPUTS}
    row["id"] = "id"
    sql, params = jobs.claim_sql(row)
    for name in CUT_INPUTS:
        assert f"{name} IS NOT DISTINCT FROM %({name})s" in sql
        assert params[name] == f"v-{name}"
    assert "state = 'EDITED'" in sql


def test_retry_delay_grows_and_is_capped():
    assert [jobs.retry_delay(n, 10, 60) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]


def test_footage_message_for_partials_only_names_them():
    from common.segments import SelectionStats
    stats = SelectionStats()
    stats.partials = 1
    message = jobs.footage_message("n1", "s", "v", "A", "B", stats)
    assert message.startswith("node n1 has s/v between A and B only with 1 partial or suspect")
    assert "0 hole(s)" not in message


def test_footage_message():
    message = jobs.footage_message("n1", "s", "v", "A", "B")
    assert message == "node n1 lacks footage of s/v between A and B: none at all; will cut " \
                      "when it arrives"


@pytest.mark.parametrize("config,problem", [
    ([], "must be a JSON object"),
    ({"locations": {}}, "at least one"),
    ({"locations": {"manual": {"backend": "local"}}}, "reserved"),
    ({"locations": {"a": {"options": {}}}}, "'backend'"),
    ({"locations": {"a": {"backend": "local", "cut_type": "slow"}}}, "cut_type"),
    ({"locations": {"a": {"backend": "local", "transcode_check_interval": 0}}}, "positive"),
    ({"locations": {"a": {"backend": "local", "transcode_check_interval": float("nan")}}},
     "positive"),
    ({"locations": {"a": {"backend": "local", "options": []}}}, "'options' must be"),
])
def test_config_errors(config, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(config)


def test_config_error_names_the_location(tmp_path):
    with pytest.raises(ConfigError, match="location 'a': unknown option"):
        parse_config({"locations": {"a": {"backend": "local", "options": {
            "directory": str(tmp_path), "bogus": 1}}}})
    assert make_backend("local", {"directory": str(tmp_path)}).needs_transcode is False


@pytest.mark.parametrize("flag", ["--poll-interval", "--watch-interval", "--retry-delay"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "x"])
def test_intervals_must_be_positive(flag, value, capsys):
    from cutter.main import build_parser
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--database", "d", "--base-dir", "b", "--config", "c",
                                   flag, value])
    assert info.value.code == 2 and flag in capsys.readouterr().err
