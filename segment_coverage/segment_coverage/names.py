"""Names of the files written into BASE/.coverage/ (the restreamer serves it at /coverage/).

The directory's dot-name keeps it out of the restreamer's stream listing and the segment parser.
"""

import os

OUTPUT_DIR = ".coverage"
INDEX = "index.html"


def output_dir(base_dir):
    return os.path.join(base_dir, OUTPUT_DIR)


def map_file(stream, variant):
    return f"{stream}-{variant}.png"


def summary_file(stream, variant):
    return f"{stream}-{variant}.json"
