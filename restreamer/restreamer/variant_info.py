"""`GET /variant/STREAM/VARIANT.json`: a variant's variant.json (common.renditions), as stored.

Peers' backfillers copy it, so that a node that only backfills a stream ties its separate audio
to its video as the recording node does. The file is served as it is (the copier checks it),
with `Last-Modified` (its mtime), and answers `If-Modified-Since` with 304: the copier keeps the
newer copy, and a copy it already holds costs one empty answer per pass.
"""

import os

from flask import Blueprint, current_app, send_file

from common import renditions

from .params import BadRequest, check_component

blueprint = Blueprint("variant_info", __name__)


@blueprint.route("/variant/<stream>/<variant>.json")
def variant_info(stream, variant):
    check_component(stream, "stream")
    check_component(variant, "variant")
    base_dir = current_app.config["restreamer"].base_dir
    path = os.path.join(base_dir, stream, variant, renditions.INFO_FILE)
    try:
        return send_file(path, mimetype="application/json", conditional=True, etag=False,
                         max_age=0)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise BadRequest(f"no {renditions.INFO_FILE} for {stream}/{variant}", 404) from None
    except OSError as e:  # e.g. a name too long for the filesystem
        raise BadRequest(f"no {renditions.INFO_FILE}: {e.strerror}", 404) from None
