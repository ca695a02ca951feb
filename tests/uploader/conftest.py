import pytest

from support.fake_youtube import FakeYoutube


@pytest.fixture
def fake_youtube():
    fake = FakeYoutube()
    yield fake
    fake.close()
