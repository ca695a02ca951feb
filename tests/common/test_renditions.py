"""variant.json (common.renditions): what a valid one is, and the rule by which a peer's copy
replaces this node's (the newer copy wins; a tie keeps ours)."""

import fcntl
import json
import os
import subprocess
import time

import pytest

from common import renditions

VIDEO = {"audio": ["audio-en", "audio-de"]}
AUDIO = {"type": "audio", "name": "English", "language": "en", "default": True}


def info_path(variant_path):
    return os.path.join(variant_path, renditions.INFO_FILE)


def write_raw(variant_path, text, mtime):
    os.makedirs(variant_path, exist_ok=True)
    with open(info_path(variant_path), "w") as f:
        f.write(text)
    os.utime(info_path(variant_path), (mtime, mtime))


def leftovers(variant_path):
    return [n for n in os.listdir(variant_path) if n != renditions.INFO_FILE]


@pytest.mark.parametrize("info", [
    VIDEO, {"audio": ["audio-en"]}, AUDIO, {"type": "audio", "name": "X"},
    {"type": "audio", "name": "Deutsch", "language": "de", "default": False}])
def test_what_the_downloader_writes_is_valid(info):
    assert renditions.parse_info(json.dumps(info).encode()) == info


@pytest.mark.parametrize("data, reason", [
    (b'{"audio": ["audio-en"', "not JSON"),                     # a half file
    (b"\xff\xfe{}", "not JSON"),
    (b'["audio-en"]', "not a JSON object"),
    (b"{}", "got the keys []"),
    (b'{"audio": []}', "non-empty list"),
    (b'{"audio": "audio-en"}', "non-empty list"),
    (b'{"audio": ["../../etc"]}', "no variant name"),
    (b'{"audio": [".hidden"]}', "no variant name"),
    (b'{"audio": ["variant.json"]}', "no variant name"),
    (b'{"audio": [7]}', "no variant name"),
    (b'{"audio": ["a", "a"]}', "twice"),
    (b'{"audio": ["a"], "extra": 1}', "got the keys"),
    (b'{"type": "audio", "name": ""}', "'name' is not a non-empty string"),
    (b'{"type": "audio", "language": 5}', "'language'"),
    (b'{"type": "audio", "default": "yes"}', "'default'"),
    (b'{"type": "audio", "uri": "http://x"}', "unknown keys ['uri']"),
    (b'{"audio": ["a"]}' + b" " * renditions.MAX_INFO_BYTES, "larger than"),
])
def test_junk_is_refused_with_a_reason(data, reason):
    with pytest.raises(ValueError) as e:
        renditions.parse_info(data)
    assert reason in str(e.value)


def test_write_info_refuses_junk_and_writes_nothing(tmp_path):
    variant = str(tmp_path / "s" / "source")
    with pytest.raises(ValueError):
        renditions.write_info(variant, {"audio": ["../x"]})
    assert not os.path.exists(info_path(variant))


def test_a_missing_copy_is_taken_with_the_peers_time(tmp_path):
    variant = str(tmp_path / "s" / "source")
    peer_time = 1_700_000_000
    assert renditions.adopt_info(variant, VIDEO, peer_time)
    assert renditions.read_info(variant) == VIDEO
    assert renditions.info_modified(variant) == peer_time
    assert leftovers(variant) == []     # the temp file was renamed, nothing else is left


def test_a_newer_local_copy_is_kept_and_an_older_one_replaced(tmp_path):
    variant = str(tmp_path / "s" / "audio-en")
    renditions.write_info(variant, AUDIO)   # as the downloader does: stamped now
    ours = renditions.info_modified(variant)
    assert abs(ours - time.time()) < 60
    older = dict(AUDIO, name="Old name")
    assert not renditions.adopt_info(variant, older, int(ours) - 1)
    assert not renditions.adopt_info(variant, older, int(ours))     # same second: ours wins
    assert renditions.read_info(variant) == AUDIO
    assert renditions.info_modified(variant) == ours

    newer = dict(AUDIO, name="New name")
    assert renditions.adopt_info(variant, newer, int(ours) + 1)
    assert renditions.read_info(variant) == newer
    assert renditions.info_modified(variant) == int(ours) + 1
    assert leftovers(variant) == []


def test_the_same_text_from_a_newer_peer_only_moves_the_time(tmp_path):
    variant = str(tmp_path / "s" / "source")
    write_raw(variant, json.dumps(VIDEO), 1_000)
    before = os.stat(info_path(variant)).st_ino
    assert not renditions.adopt_info(variant, VIDEO, 2_000)
    assert renditions.info_modified(variant) == 2_000
    assert os.stat(info_path(variant)).st_ino == before   # not rewritten


def test_an_unreadable_local_copy_is_replaced_whatever_its_time(tmp_path):
    variant = str(tmp_path / "s" / "source")
    write_raw(variant, '{"audio": [', time.time() + 3600)
    assert renditions.adopt_info(variant, VIDEO, 1_000)
    assert renditions.read_info(variant) == VIDEO


def test_the_downloader_rewrites_only_a_changed_info(tmp_path):
    variant = str(tmp_path / "s" / "source")
    write_raw(variant, json.dumps(VIDEO), 1_000)   # e.g. copied from a peer
    assert not renditions.write_info(variant, VIDEO)
    assert renditions.info_modified(variant) == 1_000
    assert renditions.write_info(variant, {"audio": ["audio-en"]})
    assert renditions.info_modified(variant) > 1_000


def test_the_lock_is_free_as_soon_as_a_write_returns(tmp_path):
    """Under gevent (these tests are monkey-patched, as the daemons are), os.close of a
    directory is deferred to the hub's next turn: the lock must not wait for it, or the next
    write in the same greenlet would block forever."""
    subprocess.run(["true"], check=True)   # gevent's subprocess support defers closes from now
    variant = str(tmp_path / "s" / "source")
    for write in (lambda: renditions.write_info(variant, VIDEO),
                  lambda: renditions.adopt_info(variant, AUDIO, time.time() + 3600)):
        write()
        fd = os.open(variant, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # BlockingIOError if still held
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
