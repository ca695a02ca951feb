import importlib.util
import os

import pytest


def load_fake():
    path = os.path.join(os.path.dirname(__file__), "fake_youtube.py")
    spec = importlib.util.spec_from_file_location("fake_youtube", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_youtube():
    fake = load_fake().FakeYoutube()
    yield fake
    fake.close()
