"""Does `python -m MODULE ARGS...` accept ARGS? Runs the service's own entry point with ARGS
and stops it, before it does any work, at its call to common.service.setup_logging (every
daemon calls it once its command line is parsed and checked). Exit 0 and "ACCEPTED" when it
gets there; argparse's or the service's own exit status and message otherwise.

Usage: python argcheck.py MODULE ARGS...
"""

import runpy
import sys


class Accepted(BaseException):
    pass


def stop_here(*args, **kwargs):
    raise Accepted()


def main():
    module, args = sys.argv[1], sys.argv[2:]
    import common.service
    common.service.setup_logging = stop_here
    sys.argv = [f"python -m {module}"] + args
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except Accepted:
        print("ACCEPTED")
        sys.exit(0)
    print(f"{module} returned without calling setup_logging", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main()
