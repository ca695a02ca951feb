import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

# Fixtures shared by the cutter tests (the helpers are imported by name from test modules).
from cutter_testing import base_dir, cutters, events, fake_youtube  # noqa: E402,F401
