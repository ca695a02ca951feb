"""Fixtures of the segment_coverage tests: the known archive of scenario.py."""

import importlib.util
import os

import pytest


def _load_scenario():
    path = os.path.join(os.path.dirname(__file__), "scenario.py")
    spec = importlib.util.spec_from_file_location("segment_coverage_scenario", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SCENARIO = _load_scenario()


@pytest.fixture(scope="session")
def scenario():
    """The scenario module (its constants and helpers)."""
    return _SCENARIO


@pytest.fixture(scope="session")
def shared_archive(tmp_path_factory):
    """BASE holding the scenario's archive, built once; tests must not modify it."""
    base = str(tmp_path_factory.mktemp("coverage-archive"))
    _SCENARIO.build(base)
    _SCENARIO.age_directories(base)
    return base


@pytest.fixture
def archive(tmp_path):
    """A private copy of the scenario's archive, for tests that change it."""
    base = str(tmp_path / "base")
    _SCENARIO.build(base)
    _SCENARIO.age_directories(base)
    return base
