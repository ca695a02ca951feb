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

from downloader.decrypt import SegmentDecryptor, sequence_iv
from downloader.download import Downloader, SegmentJob
from downloader.playlist import parse_media_playlist
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


def test_each_key_uri_is_fetched_once_when_the_key_rotates(tmp_path):
    """A playlist whose key changes half way (as servers rotate keys): each key URI is
    requested once, by segments arriving together too, and every segment is stored clear."""
    keys = {"/k1": bytes(range(16)), "/k2": bytes(range(100, 116))}
    tag_iv = bytes(range(200, 216))
    clear = {f"/s{i}.ts": os.urandom(1000 + 37 * i) for i in range(4)}
    # (key, IV) of each segment: the tag's IV, then none (the media sequence number is the IV)
    crypto = {"/s0.ts": ("/k1", tag_iv), "/s1.ts": ("/k1", tag_iv),
              "/s2.ts": ("/k2", sequence_iv(12)), "/s3.ts": ("/k2", sequence_iv(13))}
    bodies = dict(keys)
    for path, data in clear.items():
        key, iv = crypto[path]
        bodies[path] = openssl_encrypt(data, keys[key], iv)
    requested = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        requested.append(path)
        return respond(start_response, 200 if path in bodies else 404, bodies.get(path, b""),
                       "application/octet-stream")

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/live/index.m3u8"
        playlist = parse_media_playlist(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:10\n"
            f'#EXT-X-KEY:METHOD=AES-128,URI="/k1",IV=0x{tag_iv.hex()}\n'
            "#EXTINF:2,\n/s0.ts\n#EXTINF:2,\n/s1.ts\n"
            '#EXT-X-KEY:METHOD=AES-128,URI="/k2"\n#EXTINF:2,\n/s2.ts\n#EXTINF:2,\n/s3.ts\n', url)
        base = str(tmp_path / "archive")
        downloader = Downloader(requests.Session(), base)
        jobs = [SegmentJob("test", "source", entry.uri, T0 + i * TWO, TWO, key=entry.key,
                           seq=entry.seq) for i, entry in enumerate(playlist.entries)]
        fetches = [gevent.spawn(downloader.fetch, job) for job in jobs]
        gevent.joinall(fetches, timeout=20, raise_error=True)
    finally:
        server.stop()
    assert [f.value for f in fetches] == ["full"] * 4
    assert sorted(p for p in requested if p.startswith("/k")) == ["/k1", "/k2"]
    segments = archived(base, "test", "source")
    assert [read(s.path) for s in segments] == list(clear.values())
