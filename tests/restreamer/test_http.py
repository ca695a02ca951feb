"""The restreamer's HTTP API against a real server process: listings, segments, playlists,
coverage, CORS, metrics, and a 4xx with a reason for every kind of bad input."""

import hashlib
import os
from datetime import datetime, timedelta

import pytest

from support.archive import build_archive

T0 = datetime(2025, 3, 1, 12, 59, 50)
TWO = timedelta(seconds=2)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("http-archive"))
    source = build_archive(base, "s", "source", T0, 20, skip=(12,), types={15: "partial"})
    low = build_archive(base, "s", "low", T0, 20)
    # Things never listed or served: a temp file, hidden directories, junk.
    hour = os.path.dirname(source[-1])
    open(os.path.join(hour, "00:40.000000-2.000-temp-abc123.ts"), "wb").write(b"x")
    os.makedirs(os.path.join(base, ".hidden-stream", "v"))
    os.makedirs(os.path.join(base, "s", ".hidden-variant"))
    os.makedirs(os.path.join(base, ".coverage"))
    open(os.path.join(base, ".coverage", "index.html"), "w").write("<html>coverage</html>")
    open(os.path.join(base, ".coverage", "s-source.png"), "wb").write(b"\x89PNG fake")
    open(os.path.join(base, "secret.txt"), "w").write("not for clients")
    return {"base": base, "source": source, "low": low}


@pytest.fixture(scope="module")
def server(archive, restreamer_factory):
    return restreamer_factory(archive["base"], "--max-cut-duration", "10m",
                              "--max-playlist-duration", "1d")


def q(start, end=None):
    query = f"start={start.isoformat()}Z"
    if end is not None:
        query += f"&end={end.isoformat()}Z"
    return query


# --- listings ----------------------------------------------------------------------------------

def test_listings(server, archive):
    assert server.get("/files").json() == ["s"]
    assert server.get("/files/s").json() == ["low", "source"]
    assert server.get("/files/s/source").json() == ["2025-03-01T12", "2025-03-01T13"]
    names = server.get("/files/s/source/2025-03-01T13").json()
    expected = sorted(os.path.basename(p) for p in archive["source"] if "T13/" in p)
    assert names == expected  # no temp file
    for path in ("/files/nope", "/files/s/nope", "/files/s/source/2025-03-01T01"):
        response = server.get(path)
        assert response.status_code == 200 and response.json() == []


def test_dot_names_are_never_listed_or_served(server):
    assert ".hidden-stream" not in server.get("/files").json()
    assert ".coverage" not in server.get("/files").json()
    assert ".hidden-variant" not in server.get("/files/s").json()
    for path in ("/files/.hidden-stream", "/files/s/.hidden-variant",
                 "/playlist/.coverage/x.m3u8", "/segments/.coverage/a/b/c.ts"):
        assert server.get(path).status_code == 404, path


# --- segments ----------------------------------------------------------------------------------

def test_segment_download_and_range(server, archive):
    path = archive["low"][3]
    data = open(path, "rb").read()
    rel = path[len(archive["base"]):]
    response = server.get("/segments" + rel)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/MP2T"
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(data).digest()
    partial = server.get("/segments" + rel, headers={"Range": "bytes=100-299"})
    assert partial.status_code == 206
    assert partial.content == data[100:300]
    assert partial.headers["Content-Range"] == f"bytes 100-299/{len(data)}"
    # A colon percent-encoded, as playlists write it, names the same file.
    assert server.get("/segments" + rel.replace(":", "%3A")).content == data


@pytest.mark.parametrize("path", [
    "/segments/s/low/2025-03-01T13/..%2F..%2F..%2Fsecret.txt",
    "/segments/s/low/..%2F..%2F/secret.txt",
    "/segments/%2E%2E/%2E%2E/%2E%2E/secret.txt",
    "/segments/s/low/2025-03-01T13/%2e%2e%2fx",
    "/segments/s/low/2025-03-01T13/..",
    "/segments/s/low/2025-03-01T13/00:40.000000-2.000-temp-abc123.ts",
    "/segments/s/low/2025-03-01T13/missing",
    "/segments/s/low/2025-03-01T13/00:00.000000-2.000-full-" + "A" * 43 + ".ts",
    "/segments/s/low/2025-03-01T13/a%00b",
    "/segments/s//2025-03-01T13/x.ts",
    "/files/..%2F..",
    "/files/s/..%2F..%2F..%2Fetc",
    "/coverage/..%2Fsecret.txt",
    "/coverage/%2e%2e",
    "/playlist/..%2F..%2Fs/low.m3u8?start=2025-03-01T13:00:00",
    "/cut/s/..%2Flow.ts?start=2025-03-01T13:00:00&end=2025-03-01T13:00:04",
])
def test_traversal_and_bad_names_are_refused(server, path):
    response = server.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert "not for clients" not in response.text
    assert len(response.text.strip().splitlines()) == 1


# --- coverage ----------------------------------------------------------------------------------

def test_coverage_files(server):
    index = server.get("/coverage/")
    assert index.status_code == 200 and "coverage" in index.text
    assert index.headers["Content-Type"].startswith("text/html")
    png = server.get("/coverage/s-source.png")
    assert png.status_code == 200 and png.content == b"\x89PNG fake"
    assert server.get("/coverage/nope.png").status_code == 404


# --- playlists ---------------------------------------------------------------------------------

def expected_entries(paths, variant, breaks=()):
    """Hand-written expected text for segments (path list), with DISCONTINUITY before the
    paths whose index is in breaks."""
    text = ""
    for i, path in enumerate(paths):
        hour, name = path.split("/")[-2:]
        start = datetime.strptime(f"{hour}:{name[:9]}", "%Y-%m-%dT%H:%M:%S.%f")
        if i in breaks:
            text += "#EXT-X-DISCONTINUITY\n"
        text += (f"#EXT-X-PROGRAM-DATE-TIME:{start:%Y-%m-%dT%H:%M:%S}.{start.microsecond // 1000:03d}Z\n"
                 "#EXTINF:2.000,\n"
                 f"../../segments/s/{variant}/{hour}/{name.replace(':', '%3A')}\n")
    return text


HEADER = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"


def test_complete_past_range_is_vod_with_endlist(server, archive):
    response = server.get(f"/playlist/s/low.m3u8?{q(T0 + TWO, T0 + 5 * TWO)}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response.text == (HEADER + "#EXT-X-PLAYLIST-TYPE:VOD\n"
                             + expected_entries(archive["low"][1:5], "low") + "#EXT-X-ENDLIST\n")


def test_range_not_on_segment_boundaries_includes_covering_segments(server, archive):
    response = server.get(f"/playlist/s/low.m3u8?{q(T0 + timedelta(seconds=3), T0 + timedelta(seconds=7))}")
    assert expected_entries(archive["low"][1:4], "low") in response.text
    assert response.text.endswith("#EXT-X-ENDLIST\n")


def test_settled_range_with_holes_and_partials_is_vod_with_discontinuities(server, archive):
    response = server.get(f"/playlist/s/source.m3u8?{q(T0 + 10 * TWO, T0 + 18 * TWO)}")
    # Segment 12 is missing; 15 is partial, so 16 may not join it cleanly. The range's end is
    # long settled, so the playlist is finished all the same.
    chosen = archive["source"][10:17]  # segments 10, 11, 13, 14, 15, 16, 17 (no 12)
    assert response.text == (HEADER + "#EXT-X-PLAYLIST-TYPE:VOD\n"
                             + expected_entries(chosen, "source", breaks=(2, 5))
                             + "#EXT-X-ENDLIST\n")


def test_settled_range_with_uncovered_end_is_finished(server):
    text = server.get(f"/playlist/s/low.m3u8?{q(T0 + 18 * TWO, T0 + 25 * TWO)}").text
    assert text.count("#EXTINF") == 2
    assert "#EXT-X-PLAYLIST-TYPE:VOD\n" in text and text.endswith("#EXT-X-ENDLIST\n")


def test_empty_settled_range_is_an_empty_vod_playlist(server):
    text = server.get(f"/playlist/s/low.m3u8?{q(T0 - timedelta(hours=3), T0 - timedelta(hours=2))}").text
    assert text.startswith("#EXTM3U\n") and "#EXTINF" not in text
    assert text.endswith("#EXT-X-ENDLIST\n")


def test_master_playlist(server):
    query = q(T0, T0 + 20 * TWO)
    response = server.get(f"/playlist/s.m3u8?{query}")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0] == "#EXTM3U"
    infs = [line for line in lines if line.startswith("#EXT-X-STREAM-INF:")]
    uris = [line for line in lines if line and not line.startswith("#")]
    assert sorted(uris) == [f"s/low.m3u8?{query}", f"s/source.m3u8?{query}"]
    low_size = sum(os.path.getsize(p) for p in
                   [os.path.join(r, f) for r, _, fs in os.walk(server.base_dir + "/s/low") for f in fs])
    for inf in infs:
        attrs = _attrs(inf)
        bandwidth = int(attrs["BANDWIDTH"])
        # Peak segment bit rate: at least the average of the files, and of the same order.
        assert low_size * 8 / 40 <= bandwidth < low_size * 8 / 40 * 2
        assert attrs["RESOLUTION"] == "320x240"
        assert attrs["CODECS"] == '"avc1.42E00D,mp4a.40.2"'
    # Media playlists resolve relative to the master's URL.
    media = server.get("/playlist/" + uris[0])
    assert media.status_code == 200 and "#EXTINF" in media.text


def _attrs(line):
    """Attributes of an EXT-X-STREAM-INF line (commas inside quotes kept)."""
    attrs, quoted = {}, False
    body = line.split(":", 1)[1] + ","
    token = ""
    for ch in body:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            k, _, v = token.partition("=")
            attrs[k] = v
            token = ""
        else:
            token += ch
    return attrs


def test_master_playlist_for_a_range_without_data_is_404(server):
    response = server.get(f"/playlist/s.m3u8?{q(T0 - timedelta(hours=5), T0 - timedelta(hours=4))}")
    assert response.status_code == 404


# --- bad input ---------------------------------------------------------------------------------

GOOD = "start=2025-03-01T13:00:00&end=2025-03-01T13:00:04"


@pytest.mark.parametrize("path, status, reason", [
    ("/playlist/s/low.m3u8?start=yesterday", 400, "bad start"),
    ("/playlist/s/low.m3u8?start=2025-03-01T13:00:00%2B01:00", 400, "UTC"),
    ("/playlist/s/low.m3u8?start=2025-03-01T13:00:00-05:00", 400, "UTC"),
    ("/playlist/s/low.m3u8?start=2025-02-30T13:00:00", 400, "bad start"),
    ("/playlist/s/low.m3u8?start=2025-03-01T13:00:00&end=2025-03-01T12:00:00", 400, "not after"),
    ("/playlist/s/low.m3u8?start=2025-03-01T13:00:00&end=2025-03-01T13:00:00", 400, "not after"),
    ("/playlist/s/low.m3u8?end=2025-03-01T13:00:00", 400, "without start"),
    ("/playlist/s/low.m3u8?start=2025-03-01T13:00:00&end=2025-03-03T13:00:00", 400, "longer than"),
    ("/playlist/s.m3u8?start=2025-03-01T13:00:00&end=2025-03-03T13:00:00", 400, "longer than"),
    ("/playlist/s/low.m3u8?start=2020-01-01T00:00:00", 400, "further back"),
    ("/playlist/nope/low.m3u8?start=2025-03-01T13:00:00", 404, "no such"),
    ("/playlist/s/nope.m3u8?start=2025-03-01T13:00:00", 404, "no such"),
    ("/playlist/nope.m3u8", 404, "no such"),
    ("/cut/s/low.ts", 400, "missing required parameter start"),
    ("/cut/s/low.ts?start=2025-03-01T13:00:00", 400, "missing required parameter end"),
    ("/cut/s/low.ts?start=2025-03-01T13:00:00&end=2025-03-01T14:00:00", 400, "longer than"),
    ("/cut/s/low.ts?start=2025-03-01T13:00:00&end=2025-03-01T13:00:00.01", 400, "shorter"),
    ("/cut/s/low.mp4?start=2025-03-01T13:00:00.5&end=2025-03-01T13:00:00.500001", 400,
     "shorter"),
    (f"/cut/s/low.ts?{GOOD}&type=slow", 400, "bad type"),
    (f"/cut/s/low.ts?{GOOD}&allow_holes=maybe", 400, "bad allow_holes"),
    (f"/cut/s/low.mp4?{GOOD}&type=rough", 400, "rough"),
    (f"/cut/s/low.avi?{GOOD}", 404, "unknown cut format"),
    (f"/cut/s/nope.ts?{GOOD}", 404, "no such"),
    (f"/cut/nope/low.ts?{GOOD}", 404, "no such"),
    ("/cut/s/source.ts?start=2025-03-01T13:00:10&end=2025-03-01T13:00:20", 406, "holes"),
    ("/cut/s/low.ts?start=2025-03-01T10:00:00&end=2025-03-01T10:00:20", 406, "no data"),
    ("/cut/s/low.ts?start=2025-03-01T10:00:00&end=2025-03-01T10:00:20&allow_holes=true", 406,
     "no data"),
    ("/nope", 404, "not found"),
    ("/playlist/s/low.m3u8?start=8999-12-31T23:00:00&end=9999-12-31T23:59:59", 400, "out of range"),
    ("/playlist/s/low.m3u8?start=0001-01-01T00:00:00&end=0001-01-01T01:00:00", 400, "out of range"),
    ("/cut/s/low.ts?start=9999-12-31T23:00:00&end=9999-12-31T23:59:59", 400, "out of range"),
    ("/playlist/s/low.m3u8?start=2025-03-01T13:00:00.12345678901234567890"
     "&end=2025-03-01T13:00:04Z", 200, "#EXTM3U"),
    ("/playlist/" + "x" * 300 + "/low.m3u8?start=2025-03-01T13:00:00", 404, "no such"),
    ("/segments/s/low/" + "x" * 300 + "/00:00.000000-2.000-full-" + "A" * 43 + ".ts", 404, "no such"),
])
def test_bad_input_is_a_4xx_with_a_reason(server, path, status, reason):
    response = server.get(path)
    assert response.status_code == status, response.text
    assert reason in response.text
    if status != 200:
        assert len(response.text.strip().splitlines()) == 1
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_long_names_in_listings(server):
    for path in ("/files/" + "x" * 300, "/files/s/" + "x" * 300, "/files/s/low/" + "x" * 300):
        response = server.get(path)
        assert response.status_code == 200 and response.json() == []


def test_cors_and_metrics(server):
    response = server.get("/files")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    metrics = server.get("/metrics")
    assert metrics.status_code == 200
    # The client library's type as it is (Flask adds no second "; charset=utf-8").
    from prometheus_client import CONTENT_TYPE_LATEST
    assert metrics.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert 'http_requests_total{endpoint="list_streams",method="GET",status="200"}' in metrics.text
    # Labels are bounded: no paths or times in them.
    assert "2025-03-01" not in metrics.text


# A client can send anything: no input may produce a 500 or a file from outside the archive.
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from urllib.parse import quote  # noqa: E402

_TEMPLATES = ["/files/{a}", "/files/s/{a}", "/files/s/low/{a}", "/segments/s/low/{a}/{b}",
              "/playlist/{a}.m3u8?start={b}", "/playlist/s/{a}.m3u8?start={b}&end={c}",
              "/cut/s/low.{a}?start={b}&end={c}&type={a}", "/coverage/{a}",
              "/cut/s/low.ts?start=2025-03-01T13:00:00&end=2025-03-01T13:00:04&type={a}"
              "&allow_holes={b}", "/playlist/s/low.m3u8?start={a}&end={b}"]
_TEXT = st.one_of(st.text(max_size=40),
                  st.sampled_from(["..", ".", "%2e%2e%2f", "2025-03-01T13:00:00", "rough",
                                   "full", "9999-12-31T23:59:59", "true", "../secret.txt",
                                   "2025-03-01T13:00:00+05:00", "\x00", "ts", "mp4"]))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(_TEMPLATES), _TEXT, _TEXT, _TEXT)
def test_no_input_makes_a_server_error(server, template, a, b, c):
    path = template.format(a=quote(a, safe=".%"), b=quote(b, safe=".%"), c=quote(c, safe=".%"))
    response = server.get(path)
    assert response.status_code < 500, (path, response.text)
    assert "not for clients" not in response.text


def test_cli_errors_are_one_line(tmp_path):
    import subprocess
    import sys
    run = lambda *args: subprocess.run([sys.executable, "-m", "restreamer", *args],  # noqa
                                       capture_output=True, text=True, timeout=60)
    helped = run("--help")
    assert helped.returncode == 0 and "--max-concurrent-full-cuts" in helped.stdout
    missing = run("--base-dir", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: --base-dir {tmp_path / 'nope'} is not a directory"]
    bad = run("--base-dir", str(tmp_path), "--max-cut-duration", "soon")
    assert bad.returncode == 2 and "bad duration" in bad.stderr and "Traceback" not in bad.stderr
    port = run("--base-dir", str(tmp_path), "--port", "99999")
    assert port.returncode == 2 and "--port: not a TCP port" in port.stderr \
        and "Traceback" not in port.stderr
    cuts = run("--base-dir", str(tmp_path), "--max-concurrent-full-cuts", "0")
    assert cuts.returncode == 2 and "at least 1" in cuts.stderr
