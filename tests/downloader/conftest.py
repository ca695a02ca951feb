"""Fixtures for downloader tests: one live ffmpeg HLS origin for the whole area (each test takes
its own channel: own URLs, faults and request log), a Twitch fake on top, and helpers to run a
downloader in this process."""

import gevent
import pytest

from support.hls_origin import HLSOrigin
from support.twitch_fake import TwitchFake


@pytest.fixture(scope="session")
def hls_origin(tmp_path_factory):
    """A live 2-variant origin (320x180 and 160x90, 1-second segments)."""
    origin = HLSOrigin(tmp_path_factory.mktemp("hls_origin"), segment_duration=1).start()
    yield origin
    origin.stop()


@pytest.fixture
def channel(hls_origin):
    """A fresh view of the live origin, with its own faults and request log."""
    return hls_origin.channel()


@pytest.fixture(scope="session")
def twitch_fake(hls_origin):
    return TwitchFake(hls_origin)


@pytest.fixture
def run_downloader(tmp_path):
    """Start StreamManagers in this process: run_downloader(url or source, **kwargs) -> manager.
    Every manager started is stopped at the end of the test."""
    import requests

    from downloader.manager import StreamManager
    from downloader.sources import HLSSource

    started = []

    def start(source, stream="test", qualities=("all",), base_dir=None, **kwargs):
        session = requests.Session()
        if isinstance(source, str):
            source = HLSSource(session, source)
        kwargs.setdefault("offline_poll_interval", 1)
        manager = StreamManager(stream, source, list(qualities), str(base_dir or tmp_path / "archive"),
            session=session, **kwargs)
        manager.greenlet = gevent.spawn(manager.run)
        started.append(manager)
        return manager

    yield start
    for manager in started:
        manager.stop(timeout=5)
        manager.greenlet.kill()
