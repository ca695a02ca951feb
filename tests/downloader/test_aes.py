"""A live AES-128 origin (ffmpeg's `-hls_key_info_file`): the archive holds the clear segments,
hashed as stored; the key is fetched once. A key that cannot be fetched, or a method we cannot
decrypt, records nothing (never ciphertext), is counted, and is logged at most once a minute."""

import logging
import os
import re
import subprocess
from datetime import datetime, timedelta

import gevent
import pytest
import requests
from gevent.pywsgi import WSGIServer
from prometheus_client import REGISTRY

from downloader.decrypt import DecryptError, SegmentDecryptor, sequence_iv
from downloader.download import Downloader, SegmentJob
from downloader.playlist import parse_media_playlist
from downloader.problems import Complaints
from support.hls_origin import KEY, HLSOrigin, archived, respond
from support.stream_checks import assert_all_decode, assert_no_duplicate_bytes, read, stored
from support.waiting import wait_for

T0 = datetime(2026, 11, 27, 12, 0, 0)
TWO = timedelta(seconds=2)


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    origin = HLSOrigin(tmp_path_factory.mktemp("aes_origin"), sizes=((160, 90),),
                       encrypted=True).start()
    yield origin
    origin.stop()


def openssl_decrypt(path, iv):
    """The clear bytes, by an implementation independent of ours."""
    run = subprocess.run(["openssl", "enc", "-d", "-aes-128-cbc", "-K", KEY.hex(), "-iv",
                          iv.hex(), "-in", path], capture_output=True, check=True)
    return run.stdout


def test_segments_are_stored_decrypted(origin, run_downloader, tmp_path):
    channel = origin.channel()
    base = str(tmp_path / "archive")
    first = origin.next_seq()
    manager = run_downloader(channel.master_url, base_dir=base)
    origin.wait_for_seq(first + 4)
    newest = origin.history[0][first + 3][0]
    wait_for(lambda: any(s.start == newest for s in stored(base, "test", "source")), 10,
             "the newest segments to be stored")
    manager.stop(timeout=5)

    iv = bytes.fromhex(re.search(r"IV=0x([0-9a-fA-F]{32})", origin.read_playlist(0)).group(1))
    segments = stored(base, "test", "source")
    assert stored(base, "test", "source", ("partial", "suspect", "temp")) == []
    by_start = {s.start: s for s in segments}
    for seq in range(first, first + 4):
        pdt, duration, path = origin.history[0][seq]
        assert by_start[pdt].duration == duration
        assert read(by_start[pdt].path) == openssl_decrypt(path, iv)
    assert sum(1 for r in channel.requests if r[0] == "key") == 1
    assert_all_decode(segments, ["audio", "video"])
    assert_no_duplicate_bytes(segments)


def unrecordable(reason):
    return REGISTRY.get_sample_value("downloader_unrecordable_segments_total",
        {"stream": "test", "variant": "source", "reason": reason}) or 0


@pytest.mark.parametrize("fault, reason", [("key_missing", "key_unavailable"),
                                           ("sample_aes", "unsupported_method")])
def test_segments_that_cannot_be_decrypted_are_not_recorded(origin, run_downloader, tmp_path,
                                                             caplog, fault, reason):
    channel = origin.channel()
    if fault == "key_missing":
        channel.key_missing = True
    else:
        channel.key_method = "SAMPLE-AES"
    base = str(tmp_path / "archive")
    before = unrecordable(reason)
    with caplog.at_level(logging.INFO, logger="downloader"):
        manager = run_downloader(channel.master_url, base_dir=base)
        wait_for(lambda: unrecordable(reason) >= before + 8, 15, "8 segments refused")
        manager.stop(timeout=5)
    assert archived(base, "test", "source") == []  # nothing, ciphertext least of all
    said = [r for r in caplog.records if "not recording" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.ERROR
    keys = [r for r in channel.requests if r[0] == "key"]
    if fault == "key_missing":
        assert keys and {r[4] for r in keys} == {404}
    else:
        assert keys == []   # nothing to fetch a key for


def test_iv_is_the_media_sequence_number_when_the_tag_has_none(tmp_path):
    clear = bytes(range(256)) * 40 + b"tail"
    seq = 1234567
    path = tmp_path / "segment.ts"
    subprocess.run(["openssl", "enc", "-aes-128-cbc", "-K", KEY.hex(), "-iv",
                    seq.to_bytes(16, "big").hex(), "-out", str(path)], input=clear, check=True)
    data = path.read_bytes()
    decryptor = SegmentDecryptor(KEY, sequence_iv(seq))
    # Fed in odd pieces, as a body arrives.
    out = b"".join(decryptor.update(data[i:i + 1000]) for i in range(0, len(data), 1000))
    assert out + decryptor.finish() == clear


def openssl_encrypt(clear, key, iv):
    run = subprocess.run(["openssl", "enc", "-aes-128-cbc", "-K", key.hex(), "-iv", iv.hex()],
                         input=clear, capture_output=True, check=True)
    return run.stdout


class KeyServer:
    """A local HTTP server of keys and encrypted segments: /k1, /k2 and /s0.ts ... /s3.ts (s0
    and s1 under /k1 with the tag's IV, s2 and s3 under /k2 with their sequence numbers'), as
    the playlist `PLAYLIST` lists them. `failing_keys`: that many key requests answer 500."""

    KEYS = {"/k1": bytes(range(16)), "/k2": bytes(range(100, 116))}
    TAG_IV = bytes(range(200, 216))
    PLAYLIST = ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n"
                f'#EXT-X-KEY:METHOD=AES-128,URI="/k1",IV=0x{TAG_IV.hex()}\n'
                "#EXTINF:2,\n/s0.ts\n#EXTINF:2,\n/s1.ts\n"
                '#EXT-X-KEY:METHOD=AES-128,URI="/k2"\n#EXTINF:2,\n/s2.ts\n#EXTINF:2,\n/s3.ts\n')

    def __init__(self, failing_keys=0):
        self.clear = {f"/s{i}.ts": os.urandom(1000 + 37 * i) for i in range(4)}
        crypto = {"/s0.ts": ("/k1", self.TAG_IV), "/s1.ts": ("/k1", self.TAG_IV),
                  "/s2.ts": ("/k2", sequence_iv(12)), "/s3.ts": ("/k2", sequence_iv(13))}
        self.bodies = dict(self.KEYS)
        for path, data in self.clear.items():
            key, iv = crypto[path]
            self.bodies[path] = openssl_encrypt(data, self.KEYS[key], iv)
        self.failing_keys = failing_keys
        self.requests = []  # (path, status)
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None)

    def app(self, environ, start_response):
        path = environ["PATH_INFO"]
        status = 200 if path in self.bodies else 404
        if path in self.KEYS and self.failing_keys > 0:
            self.failing_keys -= 1
            status = 500
        self.requests.append((path, status))
        return respond(start_response, status, self.bodies[path] if status == 200 else b"",
                       "application/octet-stream")

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.server.stop()

    def fetch_all(self, base, **kwargs):
        """Every segment of the playlist fetched at once by one Downloader: their results."""
        url = f"http://127.0.0.1:{self.server.server_port}/live/index.m3u8"
        entries = parse_media_playlist(self.PLAYLIST, url).entries
        downloader = Downloader(requests.Session(), base, **kwargs)
        jobs = [SegmentJob("test", "source", entry.uri, T0 + i * TWO, TWO, key=entry.key,
                           seq=entry.seq) for i, entry in enumerate(entries)]
        fetches = [gevent.spawn(downloader.fetch, job) for job in jobs]
        gevent.joinall(fetches, timeout=20, raise_error=True)
        return [f.value for f in fetches]

    def key_requests(self, status=200):
        return sorted(path for path, answer in self.requests
                      if path in self.KEYS and answer == status)


def test_each_key_uri_is_fetched_once_when_the_key_rotates(tmp_path):
    """A playlist whose key changes half way (as servers rotate keys): each key URI is
    requested once, by segments arriving together too, and every segment is stored clear."""
    base = str(tmp_path / "archive")
    with KeyServer() as server:
        assert server.fetch_all(base) == ["full"] * 4
    assert [path for path, _ in server.requests if path in server.KEYS] == ["/k1", "/k2"]
    segments = archived(base, "test", "source")
    assert [read(s.path) for s in segments] == list(server.clear.values())


def key_errors():
    return REGISTRY.get_sample_value("downloader_segment_fetch_errors_total",
        {"stream": "test", "variant": "source", "kind": "http_5xx"}) or 0


def test_a_key_server_that_fails_for_a_while_is_retried_and_told_once(tmp_path, caplog):
    """Keys answering 500 are retried like segments; every segment meets the failure, so it is
    counted each time but logged once (a minute), and the segments are stored once it is back."""
    base = str(tmp_path / "archive")
    before, refused = key_errors(), unrecordable("key_unavailable")
    with caplog.at_level(logging.INFO, logger="downloader"), KeyServer(failing_keys=12) as server:
        results = server.fetch_all(base, complaints=Complaints("test"), first_retry_delay=0.01,
                                   max_retry_delay=0.05)
    assert results == ["full"] * 4
    assert len(server.key_requests(500)) == 12 and server.key_requests(200) == ["/k1", "/k2"]
    assert key_errors() == before + 12
    assert unrecordable("key_unavailable") == refused  # they were recorded after all
    told = [r for r in caplog.records if "init section or key" in r.getMessage()]
    assert len(told) == 1 and told[0].levelno == logging.WARNING, [r.getMessage() for r in told]
    assert "500" in told[0].getMessage()
    segments = archived(base, "test", "source")
    assert [read(s.path) for s in segments] == list(server.clear.values())


def test_a_key_changed_behind_its_uri_is_fetched_again(tmp_path):
    """The server starts encrypting with another key under the same key URI: the kept key
    no longer decrypts, so it is fetched again (once per segment at most) and nothing is
    lost; nothing undecryptable is stored meanwhile."""
    old_key, new_key = bytes(range(16)), bytes(range(50, 66))
    iv = bytes(16)
    clear = [bytes((i * n) % 251 for i in range(1500 + n)) for n in (1, 2, 3)]
    bodies = {f"/s{n}.ts": openssl_encrypt(data, old_key if n == 0 else new_key, iv)
              for n, data in enumerate(clear)}
    # (The new segments, decrypted with the old key, fail the padding check.)
    with pytest.raises(DecryptError):
        wrong = SegmentDecryptor(old_key, iv)
        wrong.update(bodies["/s1.ts"])
        wrong.finish()
    keys = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/k":
            keys.append(path)
            return respond(start_response, 200, old_key if len(keys) == 1 else new_key)
        return respond(start_response, 200, bodies[path])

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/live/index.m3u8"
        entries = parse_media_playlist(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
            f'#EXT-X-KEY:METHOD=AES-128,URI="/k",IV=0x{iv.hex()}\n'
            "#EXTINF:2,\n/s0.ts\n#EXTINF:2,\n/s1.ts\n#EXTINF:2,\n/s2.ts\n", url).entries
        downloader = Downloader(requests.Session(), str(tmp_path), complaints=Complaints("test"))
        results = [downloader.fetch(SegmentJob("test", "source", entry.uri, T0 + i * TWO, TWO,
                                               key=entry.key, seq=entry.seq))
                   for i, entry in enumerate(entries)]
    finally:
        server.stop()
    assert results == ["full"] * 3
    assert len(keys) == 2  # kept for s0, fetched again for s1, kept for s2
    assert [read(s.path) for s in archived(str(tmp_path), "test", "source")] == clear


def test_a_probe_leaves_an_unrecordable_segment_to_the_fetch_that_follows(tmp_path, caplog):
    """The first segment of a run without program date times is probed, then fetched: a key
    that 404s is counted and told once for it, not twice."""
    def app(environ, start_response):
        return respond(start_response, 404 if environ["PATH_INFO"] == "/k" else 200, b"x" * 32)

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/live/index.m3u8"
        entry, = parse_media_playlist('#EXTM3U\n#EXT-X-TARGETDURATION:2\n'
                                      '#EXT-X-KEY:METHOD=AES-128,URI="/k"\n#EXTINF:2,\n/s0.ts\n',
                                      url).entries
        downloader = Downloader(requests.Session(), str(tmp_path), complaints=Complaints("test"))
        job = SegmentJob("test", "source", entry.uri, T0, TWO, key=entry.key, seq=entry.seq)
        before = unrecordable("key_unavailable")
        with caplog.at_level(logging.INFO, logger="downloader"):
            assert downloader.probe(job) is None
            assert unrecordable("key_unavailable") == before
            assert downloader.fetch(job) is None
    finally:
        server.stop()
    assert unrecordable("key_unavailable") == before + 1
    assert len([r for r in caplog.records if "not recording" in r.getMessage()]) == 1
    assert archived(str(tmp_path), "test", "source") == []
