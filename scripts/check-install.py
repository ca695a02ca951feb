"""Check that each package named on the command line imports from this checkout's NAME/NAME/
even with tests/ first on sys.path, as pytest has it (tests/common is a folder too: an editable
install that works through an import hook would let it shadow the real package). Used by
scripts/setup-env.sh after installing."""

import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(names):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    wrong = []
    for name in names:
        expected = os.path.join(ROOT, name, name, "__init__.py")
        try:
            found = importlib.import_module(name).__file__
        except ImportError as e:
            found = f"ImportError: {e}"
        if found != expected:
            wrong.append(f"  import {name}: {found or 'a namespace package'} (want {expected})")
    if wrong:
        print("setup: these packages do not import from the checkout:", *wrong, sep="\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
