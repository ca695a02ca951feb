"""GET /variant/STREAM/VARIANT.json: a variant's variant.json for peers' backfillers, with
Last-Modified and If-Modified-Since (a real restreamer process)."""

import email.utils
import os

import pytest

from common import renditions

MTIME = 1_700_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory, restreamer_factory):
    base = tmp_path_factory.mktemp("variant_info")
    renditions.write_info(str(base / "s" / "source"), renditions.video_info(["audio-en"]))
    path = str(base / "s" / "source" / renditions.INFO_FILE)
    os.utime(path, (MTIME, MTIME))
    os.makedirs(base / "s" / "480p")   # a plain variant: no variant.json
    return restreamer_factory(base)


def test_served_as_stored_with_its_time(server):
    response = server.get("/variant/s/source.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with open(os.path.join(server.base_dir, "s", "source", renditions.INFO_FILE), "rb") as f:
        assert response.content == f.read()
    assert renditions.parse_info(response.content) == {"audio": ["audio-en"]}
    modified = email.utils.parsedate_to_datetime(response.headers["Last-Modified"])
    assert modified.timestamp() == MTIME


@pytest.mark.parametrize("since, status", [(MTIME - 1, 200), (MTIME, 304), (MTIME + 60, 304)])
def test_if_modified_since(server, since, status):
    response = server.get("/variant/s/source.json",
                          headers={"If-Modified-Since": email.utils.formatdate(since, usegmt=True)})
    assert response.status_code == status
    assert (response.content != b"") == (status == 200)


@pytest.mark.parametrize("path, reason", [
    ("/variant/s/480p.json", "no variant.json for s/480p"),
    ("/variant/s/nothing.json", "no variant.json for s/nothing"),
    ("/variant/other/source.json", "no variant.json for other/source"),
    ("/variant/s/.hidden.json", "no such variant"),
    ("/variant/.s/source.json", "no such stream"),
])
def test_missing_or_private_is_404_with_a_reason(server, path, reason):
    response = server.get(path)
    assert response.status_code == 404
    assert reason in response.text and response.text.count("\n") == 1
