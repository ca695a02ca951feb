"""Entry point of ./run-local (see scripts/runlocal/)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from runlocal.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
