"""The cutter's config file: upload locations -> backends and their options (JSON).

    {
      "locations": {
        "youtube": {
          "backend": "youtube",
          "cut_type": "full",
          "transcode_check_interval": 60,
          "options": {"credentials_file": "/etc/cutter/youtube.json", "privacy": "unlisted"}
        },
        "archive": {
          "backend": "local",
          "options": {"directory": "/srv/videos", "url_prefix": "https://videos.example/"}
        }
      }
    }

Anything unknown (a key, a backend, an option of a backend) is an error at start-up, so a typo
never silently turns into a default.
"""

import json
from typing import NamedTuple, Optional

from common.events.edits import CUT_TYPES, MANUAL_LOCATION
from uploader.backends import Backend, ConfigError, make_backend

TOP_KEYS = {"locations"}
LOCATION_KEYS = {"backend", "cut_type", "transcode_check_interval", "options"}


class Location(NamedTuple):
    name: str
    backend: Backend
    cut_type: Optional[str]  # None: full if the backend has encoding settings, else fast
    transcode_check_interval: float


def parse_config(data, make=make_backend):
    """Locations from the parsed JSON document; ConfigError naming the problem."""
    if not isinstance(data, dict):
        raise ConfigError("the config must be a JSON object with a 'locations' object")
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"unknown top-level key(s): {', '.join(unknown)} (known: locations)")
    locations = data.get("locations")
    if not isinstance(locations, dict) or not locations:
        raise ConfigError("'locations' must be an object naming at least one upload location")
    return {name: _location(name, spec, make) for name, spec in locations.items()}


def _location(name, spec, make):
    where = f"location {name!r}"
    if name == MANUAL_LOCATION:
        raise ConfigError(f"{where}: the name is reserved for manual uploads")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: must be an object")
    unknown = sorted(set(spec) - LOCATION_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(LOCATION_KEYS))})")
    if not isinstance(spec.get("backend"), str):
        raise ConfigError(f"{where}: 'backend' (a backend name) is required")
    cut_type = spec.get("cut_type")
    if cut_type is not None and cut_type not in CUT_TYPES:
        raise ConfigError(f"{where}: cut_type must be one of {', '.join(CUT_TYPES)}")
    interval = spec.get("transcode_check_interval", 60)
    # `not 0 < x < inf` also refuses NaN and Infinity, which Python's JSON parser lets through.
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) \
            or not 0 < interval < float("inf"):
        raise ConfigError(f"{where}: transcode_check_interval must be a positive number")
    options = spec.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: 'options' must be an object")
    try:
        backend = make(spec["backend"], options)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}")
    return Location(name, backend, cut_type, float(interval))


def load_config(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}")
    except ValueError as e:
        raise ConfigError(f"config file {path} is not valid JSON: {e}")
    return parse_config(data)
