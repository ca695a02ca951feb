"""common.service: the flags every daemon shares reject bad values as usage errors."""

import argparse

import pytest

from common.service import add_common_args


def parser():
    p = argparse.ArgumentParser()
    add_common_args(p, metrics_port=8003)
    return p


@pytest.mark.parametrize("value", ["-1", "65536", "70000", "x"])
def test_bad_metrics_port_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as info:
        parser().parse_args(["--metrics-port", value])
    assert info.value.code == 2 and "--metrics-port" in capsys.readouterr().err


def test_metrics_port_default_and_range():
    assert parser().parse_args([]).metrics_port == 8003
    assert parser().parse_args(["--metrics-port", "0"]).metrics_port == 0
    assert parser().parse_args(["--metrics-port", "65535"]).metrics_port == 65535
