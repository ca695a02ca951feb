"""The `local` backend: videos become files in a directory (a web server may publish it).

Each upload gets a fresh id, so two uploads never overwrite each other: a duplicate would show as
two files, never as one silently replaced. The file is written under a temporary name, fsynced,
and renamed into place: the rename is the step that makes the upload official.

Temporary names say who writes them (`.NAME~HOST~PID.tmp`), so that recover() (the cutter calls
it when it starts) removes those of a writer on this host that died, and nothing of a writer
still alive, here or on another host sharing the directory.
"""

import json
import logging
import os
import pathlib
import re
import socket
import uuid

from .base import Backend, ConfigError, Option, UploadError

log = logging.getLogger(__name__)

EXTENSIONS = {"mpegts": "ts", "mp4": "mp4"}
TEMP_RE = re.compile(r"^\.(?P<name>.+)~(?P<host>[^~]+)~(?P<pid>\d+)\.tmp$")


def temp_name(name, host=None, pid=None):
    return f".{name}~{host or socket.gethostname()}~{pid or os.getpid()}.tmp"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalBackend(Backend):
    name = "local"
    OPTIONS = {
        "directory": Option(str, required=True, help="directory the videos are written to"),
        "url_prefix": Option(str, help="link = url_prefix + file name (default: a file:// URL)"),
        "write_info": Option(bool, False, help="also write VIDEO_ID.json with the metadata"),
        "container": Option(str, "mp4", help="mp4 or mpegts, for fast and full cuts"),
        "encode_args": Option(list, help="ffmpeg output arguments for full cuts"),
    }

    def __init__(self, **options):
        super().__init__(**options)
        if self.container not in EXTENSIONS:
            raise ConfigError(f"backend local: container must be one of {', '.join(EXTENSIONS)}")
        self.encoding_settings = self.encode_args
        self.directory = os.path.abspath(self.directory)

    def link_for(self, name):
        if self.url_prefix is not None:
            return self.url_prefix + name
        return pathlib.Path(self.directory, name).as_uri()

    def upload(self, title, description, tags, chunks, container="mpegts", before_finalize=None):
        video_id = uuid.uuid4().hex
        name = f"{video_id}.{EXTENSIONS[container]}"
        final = os.path.join(self.directory, name)
        temp = os.path.join(self.directory, temp_name(name))
        info_path = os.path.join(self.directory, f"{video_id}.json")
        info_temp = os.path.join(self.directory, temp_name(f"{video_id}.json"))
        written = []
        try:
            try:
                os.makedirs(self.directory, exist_ok=True)
                self._write(temp, chunks, written)
                if self.write_info:
                    info = {"id": video_id, "file": name, "title": title,
                            "description": description, "tags": list(tags)}
                    self._write(info_temp, [json.dumps(info, indent=1).encode()], written)
                    os.rename(info_temp, info_path)
                    written[-1] = info_path
            except OSError as e:
                raise UploadError(f"cannot write video into {self.directory}: {e}", retryable=True)
            if before_finalize is not None:
                before_finalize()
            try:
                os.rename(temp, final)
            except OSError as e:
                raise UploadError(f"cannot rename video into place: {e}", retryable=True)
        except BaseException:
            for path in written:
                _remove(path)
            raise
        _fsync_dir(self.directory)
        return video_id, self.link_for(name)

    def recover(self):
        """Remove the temporary files of uploads whose writer on this host died (a cutter killed
        mid-cut): nothing was made official from them. Returns their paths."""
        host = socket.gethostname()
        removed = []
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return removed
        for name in names:
            m = TEMP_RE.match(name)
            if m and m["host"] == host and not pid_alive(int(m["pid"])):
                _remove(os.path.join(self.directory, name))
                removed.append(os.path.join(self.directory, name))
        if removed:
            log.warning("removed %d temporary file(s) of uploads interrupted by a crash in %s",
                        len(removed), self.directory)
        return removed

    @staticmethod
    def _write(path, chunks, written):
        written.append(path)
        with open(path, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
