"""The youtube backend against a fake speaking the resumable upload protocol over real HTTP."""

import os

import pytest

from uploader.backends import ConfigError, Spool, UploadError, UploadUnknown, make_backend

CHUNK = 256 * 1024


@pytest.fixture
def video(tmp_path):
    data = os.urandom(3 * CHUNK + 12345)
    path = tmp_path / "video.ts"
    path.write_bytes(data)
    return data, Spool(str(path))


def backend(fake, tmp_path, **options):
    return make_backend("youtube", dict(
        fake.endpoints, credentials_file=fake.write_credentials(tmp_path / "creds.json"),
        chunk_size=CHUNK, retry_backoff=0.01, timeout=10.0, **options))


def test_upload_in_chunks_and_transcode_status(fake_youtube, tmp_path, video):
    data, spool = video
    fake_youtube.processing_polls = 1
    calls = []
    yt = backend(fake_youtube, tmp_path, link_prefix="https://yt.example/")
    video_id, link = yt.upload("Title", "Desc", ["a", "b"], spool,
                               before_finalize=lambda: calls.append(len(fake_youtube.log)))
    assert link == "https://yt.example/" + video_id
    stored = fake_youtube.videos[video_id]
    assert stored["data"] == data
    assert stored["meta"]["snippet"]["title"] == "Title"
    assert stored["meta"]["snippet"]["tags"] == ["a", "b"]
    assert stored["meta"]["status"]["privacyStatus"] == "private"
    # Four chunk PUTs; before_finalize ran once, just before the last.
    assert fake_youtube.count("PUT", "/session/") == 4
    assert len(calls) == 1 and fake_youtube.log[calls[0]][0] == "PUT"
    assert fake_youtube.log[calls[0]:].count(("PUT", fake_youtube.log[-1][1])) == 1
    assert yt.check_status([video_id]) == {video_id: (False, None)}
    assert yt.check_status([video_id, "unknown"]) == {video_id: (True, None)}


def test_dropped_connection_resumes_where_the_server_stopped(fake_youtube, tmp_path, video):
    data, spool = video
    fake_youtube.drop_at = CHUNK + 1000  # inside the second chunk
    video_id, _ = backend(fake_youtube, tmp_path).upload("T", "D", [], spool)
    assert fake_youtube.videos[video_id]["data"] == data
    assert len(fake_youtube.videos) == 1
    assert fake_youtube.count("POST", "/upload") == 1  # resumed, not started over
    # 4 chunks + the interrupted one + one status query.
    assert fake_youtube.count("PUT", "/session/") == 6


def test_dropped_final_chunk_asks_the_server_and_completes(fake_youtube, tmp_path, video):
    data, spool = video
    fake_youtube.drop_at = len(data) - 10
    finalized = []
    video_id, _ = backend(fake_youtube, tmp_path).upload(
        "T", "D", [], spool, before_finalize=lambda: finalized.append(1))
    assert fake_youtube.videos[video_id]["data"] == data
    assert finalized == [1]


def test_4xx_at_session_start_is_final_after_one_request(fake_youtube, tmp_path, video):
    fake_youtube.init_status = 403
    with pytest.raises(UploadError) as info:
        backend(fake_youtube, tmp_path).upload("T", "D", [], video[1])
    assert not info.value.retryable
    assert "403" in str(info.value)
    assert fake_youtube.count("POST", "/upload") == 1
    assert fake_youtube.count("PUT", "") == 0


def test_5xx_on_the_final_request_is_unknown(fake_youtube, tmp_path, video):
    fake_youtube.final_status = 503
    with pytest.raises(UploadUnknown) as info:
        backend(fake_youtube, tmp_path).upload("T", "D", [], video[1])
    assert not isinstance(info.value, UploadError)
    assert "503" in str(info.value)
    # No retry of the final request, no status query.
    assert fake_youtube.count("PUT", "/session/") == 4


def test_before_finalize_refusal_never_sends_the_last_byte(fake_youtube, tmp_path, video):
    class Gone(Exception):
        pass

    def refuse():
        raise Gone()

    with pytest.raises(Gone):
        backend(fake_youtube, tmp_path).upload("T", "D", [], video[1], before_finalize=refuse)
    assert fake_youtube.videos == {}
    assert fake_youtube.count("PUT", "/session/") == 3


def test_token_refresh_survives_server_errors(fake_youtube, tmp_path, video):
    fake_youtube.token_failures = 2
    video_id, _ = backend(fake_youtube, tmp_path).upload("T", "D", [], video[1])
    assert video_id in fake_youtube.videos
    assert fake_youtube.count("POST", "/token") == 3


def test_token_unavailable_is_retryable_and_uploads_nothing(fake_youtube, tmp_path, video):
    fake_youtube.token_failures = 10
    with pytest.raises(UploadError) as info:
        backend(fake_youtube, tmp_path).upload("T", "D", [], video[1])
    assert info.value.retryable
    assert fake_youtube.count("POST", "/upload") == 0


def test_unreachable_server_before_any_data_is_retryable(tmp_path, fake_youtube, video):
    yt = backend(fake_youtube, tmp_path)
    yt.token.get()
    yt.upload_url = "http://127.0.0.1:1/upload"
    with pytest.raises(UploadError) as info:
        yt.upload("T", "D", [], video[1])
    assert info.value.retryable


def test_bad_options_are_config_errors(tmp_path, fake_youtube):
    with pytest.raises(ConfigError, match="unknown option"):
        backend(fake_youtube, tmp_path, colour="blue")
    with pytest.raises(ConfigError, match="chunk_size"):
        make_backend("youtube", dict(credentials_file=fake_youtube.write_credentials(
            tmp_path / "c.json"), chunk_size=1000))
    with pytest.raises(ConfigError, match="credentials"):
        make_backend("youtube", {"credentials_file": str(tmp_path / "missing.json")})
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        make_backend("youtube", {"credentials_file": str(tmp_path / "list.json")})
    with pytest.raises(ConfigError, match="needs option 'credentials_file'"):
        make_backend("youtube", {})
    for option, value in [("timeout", 0), ("timeout", float("nan")), ("retry_backoff", -1),
                          ("resume_attempts", -1)]:
        options = dict(fake_youtube.endpoints, credentials_file=fake_youtube.write_credentials(
            tmp_path / "creds.json"), **{option: value})
        with pytest.raises(ConfigError, match=option):
            make_backend("youtube", options)
