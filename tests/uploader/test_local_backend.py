import json
import os

import pytest

from uploader.backends import ConfigError, UploadError, make_backend


def listing(path):
    return sorted(os.listdir(path))


def test_writes_atomically_with_sidecar_and_url_link(tmp_path):
    local = make_backend("local", {"directory": str(tmp_path / "out"), "write_info": True,
                                   "url_prefix": "https://videos.example/"})
    seen = []

    def before_finalize():
        # Nothing is visible under its final name yet: the rename is the official step.
        seen.append([n for n in listing(tmp_path / "out") if not n.startswith(".")])

    video_id, link = local.upload("Title", "Desc", ["x"], iter([b"abc", b"def"]),
                                  container="mp4", before_finalize=before_finalize)
    assert link == f"https://videos.example/{video_id}.mp4"
    assert (tmp_path / "out" / f"{video_id}.mp4").read_bytes() == b"abcdef"
    info = json.loads((tmp_path / "out" / f"{video_id}.json").read_text())
    assert info == {"id": video_id, "file": f"{video_id}.mp4", "title": "Title",
                    "description": "Desc", "tags": ["x"]}
    assert seen == [[f"{video_id}.json"]]
    assert listing(tmp_path / "out") == sorted([f"{video_id}.json", f"{video_id}.mp4"])


def test_file_link_and_distinct_names(tmp_path):
    local = make_backend("local", {"directory": str(tmp_path)})
    first, link = local.upload("T", "D", [], [b"1"], container="mpegts")
    second, _ = local.upload("T", "D", [], [b"1"], container="mpegts")
    assert first != second
    assert link == (tmp_path / f"{first}.ts").as_uri()
    assert listing(tmp_path) == sorted([f"{first}.ts", f"{second}.ts"])


def test_refused_finalize_or_failing_cut_leaves_nothing(tmp_path):
    local = make_backend("local", {"directory": str(tmp_path), "write_info": True})

    def refuse():
        raise RuntimeError("not ours any more")

    with pytest.raises(RuntimeError):
        local.upload("T", "D", [], [b"data"], before_finalize=refuse)

    def broken_cut():
        yield b"part"
        raise ValueError("ffmpeg died")

    with pytest.raises(ValueError):
        local.upload("T", "D", [], broken_cut())
    assert listing(tmp_path) == []


def test_unwritable_directory_is_retryable(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    local = make_backend("local", {"directory": str(tmp_path / "file" / "sub")})
    with pytest.raises(UploadError) as info:
        local.upload("T", "D", [], [b"x"])
    assert info.value.retryable


def test_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="needs option 'directory'"):
        make_backend("local", {})
    with pytest.raises(ConfigError, match="unknown option"):
        make_backend("local", {"directory": "/x", "dir": "/y"})
    with pytest.raises(ConfigError, match="must be bool"):
        make_backend("local", {"directory": "/x", "write_info": "yes"})
    with pytest.raises(ConfigError, match="container"):
        make_backend("local", {"directory": "/x", "container": "avi"})
    with pytest.raises(ConfigError, match="unknown backend"):
        make_backend("ftp", {})


def test_temporary_names_say_who_writes_them(tmp_path):
    from uploader.backends.local import TEMP_RE
    local = make_backend("local", {"directory": str(tmp_path), "write_info": True})
    seen = []

    def cut():
        seen.extend(listing(tmp_path))
        yield b"video"

    local.upload("T", "D", [], cut())
    [temp] = seen
    m = TEMP_RE.match(temp)
    assert m and int(m["pid"]) == os.getpid() and m["host"] == __import__("socket").gethostname()
    assert not any(TEMP_RE.match(name) for name in listing(tmp_path))


def test_recover_removes_only_what_a_dead_writer_on_this_host_left(tmp_path):
    import socket
    import subprocess
    import sys

    from uploader.backends.local import temp_name
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    host = socket.gethostname()
    names = {
        "dead": temp_name("a.mp4", host, dead_pid),
        "dead_info": temp_name("a.json", host, dead_pid),
        "alive": temp_name("b.mp4", host, os.getpid()),
        "elsewhere": temp_name("c.mp4", "another-host", dead_pid),
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "d.mp4").write_bytes(b"a finished video")
    local = make_backend("local", {"directory": str(tmp_path)})
    removed = local.recover()
    assert sorted(os.path.basename(p) for p in removed) == sorted(
        [names["dead"], names["dead_info"]])
    assert listing(tmp_path) == sorted([names["alive"], names["elsewhere"], "d.mp4"])
