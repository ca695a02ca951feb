import os
import sys

here = os.path.dirname(__file__)
sys.path.insert(0, here)
# The cutter tests' helpers (real cutter processes), for submit -> cut.
sys.path.insert(0, os.path.join(os.path.dirname(here), "cutter"))

# Fixtures shared by the editor tests (the helpers are imported by name from test modules).
from editor_testing import (archive, editor, editor_factory, restreamer, shared_alice,  # noqa: E402,F401
                            shared_db, shared_editor, users)
from browser_testing import browser  # noqa: E402,F401
