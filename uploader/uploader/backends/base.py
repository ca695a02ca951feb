"""The interface every upload backend implements, and the helpers they share.

The one rule that matters: UploadError may only be raised when it is certain that the upload did
not happen (no video exists, nothing will appear later). Anything uncertain (a dropped connection
on the request that makes the upload official, a 5xx in reply to it) must propagate as some other
exception: the cutter then leaves the event FINALIZING for an operator, because a duplicate
public video is worse than a late one.
"""

import os
import tempfile
from typing import NamedTuple, Optional

CHUNK_SIZE = 64 * 1024


class UploadError(Exception):
    """The upload certainly did not happen. retryable: trying again later may succeed."""

    def __init__(self, message, retryable=False):
        super().__init__(message)
        self.retryable = retryable


class UploadUnknown(Exception):
    """Whether the upload happened is unknown (deliberately not an UploadError)."""


class ConfigError(ValueError):
    """A backend's options are wrong (unknown key, wrong type, missing value)."""


class TranscodeStatus(NamedTuple):
    done: bool
    error: Optional[str] = None  # set if the backend gave up processing the video


class Option(NamedTuple):
    type: type
    default: object = None
    required: bool = False
    help: str = ""


class Backend:
    """Base class. Subclasses set the class attributes and implement upload()."""

    name = None
    # option name -> Option; the config file may set exactly these (plus the location's own keys).
    OPTIONS = {}
    # False: upload() takes an iterator of byte chunks as the cut produces them (streamed).
    # True: upload() takes a Spool (a seekable file with a known size), e.g. to resume uploads.
    needs_seekable = False
    # True: the video is not ready when upload() returns; poll check_status() until it is.
    needs_transcode = False
    # ffmpeg output arguments for a full cut, or None meaning "a fast cut is good enough".
    encoding_settings = None
    # Container a fast or full cut should produce for this backend.
    container = "mpegts"

    def __init__(self, **options):
        for key, value in self.check_options(options).items():
            setattr(self, key, value)

    @classmethod
    def check_options(cls, options):
        """Return the complete option dict (defaults filled in) or raise ConfigError."""
        unknown = sorted(set(options) - set(cls.OPTIONS))
        if unknown:
            raise ConfigError(f"unknown option(s) for backend {cls.name}: {', '.join(unknown)}"
                              f" (known: {', '.join(sorted(cls.OPTIONS)) or 'none'})")
        result = {}
        for key, option in cls.OPTIONS.items():
            if key not in options:
                if option.required:
                    raise ConfigError(f"backend {cls.name} needs option {key!r}: {option.help}")
                result[key] = option.default
                continue
            value = options[key]
            if option.type is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if value is not None and not isinstance(value, option.type):
                raise ConfigError(f"option {key!r} of backend {cls.name} must be "
                                  f"{option.type.__name__}, not {type(value).__name__}")
            result[key] = value
        return result

    def upload(self, title, description, tags, chunks, container="mpegts", before_finalize=None):
        """Upload a video; return (video_id, link).

        chunks: an iterator of bytes, or a Spool if needs_seekable. container: what the bytes are
        ('mpegts' or 'mp4'). before_finalize: called just before the step that makes the upload
        official (the cutter marks the event FINALIZING there); if it raises, the backend must
        abandon the upload without making it official and let the exception propagate.
        """
        raise NotImplementedError

    def recover(self):
        """Clean up after uploads a crash interrupted (called when the cutter starts); returns
        what it removed."""
        return []

    def check_status(self, ids):
        """For backends that need transcoding: {video_id: TranscodeStatus} for the ids it knows."""
        return {video_id: TranscodeStatus(True) for video_id in ids}


class Spool:
    """A finished video in a temporary file: seekable, with a known size. Removed on close."""

    def __init__(self, path):
        self.path = path
        self.size = os.path.getsize(path)

    @classmethod
    def from_chunks(cls, chunks, dir=None):
        fd, path = tempfile.mkstemp(prefix="upload-", suffix=".spool", dir=dir)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
        except BaseException:
            os.unlink(path)
            raise
        return cls(path)

    def read(self, offset, length):
        with open(self.path, "rb") as f:
            f.seek(offset)
            return f.read(length)

    def chunks(self, offset=0, chunk_size=CHUNK_SIZE):
        with open(self.path, "rb") as f:
            f.seek(offset)
            while True:
                data = f.read(chunk_size)
                if not data:
                    return
                yield data

    def __iter__(self):
        return self.chunks()

    def close(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
