"""Names of the files written into BASE/.coverage/ (the restreamer serves it at /coverage/).

The directory's dot-name keeps it out of the restreamer's stream listing and the segment parser.

A stream/variant's files are `STREAM-VARIANT.png` and `.json`, each name with '%' and '-'
percent-encoded: stream "a-b" variant "c" (`a%2Db-c.png`) and stream "a" variant "b-c"
(`a-b%2Dc.png`) no longer share a file. Names without those characters (Twitch channels,
"source", "720p60") keep the name they always had, so existing links stay valid.
"""

import os

OUTPUT_DIR = ".coverage"
INDEX = "index.html"


def output_dir(base_dir):
    return os.path.join(base_dir, OUTPUT_DIR)


def _escaped(name):
    return name.replace("%", "%25").replace("-", "%2D")


def _base_name(stream, variant):
    return f"{_escaped(stream)}-{_escaped(variant)}"


def map_file(stream, variant):
    return _base_name(stream, variant) + ".png"


def summary_file(stream, variant):
    return _base_name(stream, variant) + ".json"
