"""Upload backends, by the name used in the cutter's config file."""

from .base import (Backend, ConfigError, Spool, TranscodeStatus, UploadError,
                   UploadUnknown)
from .local import LocalBackend
from .youtube import YoutubeBackend

__all__ = ["Backend", "ConfigError", "Spool", "TranscodeStatus", "UploadError", "UploadUnknown",
           "LocalBackend", "YoutubeBackend", "BACKENDS", "make_backend"]

BACKENDS = {cls.name: cls for cls in (LocalBackend, YoutubeBackend)}


def make_backend(name, options):
    """Instantiate a backend from its config options; ConfigError if the name or options are bad."""
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r} (known: {', '.join(sorted(BACKENDS))})")
    return cls(**options)
