#!/usr/bin/env python3
"""Container healthcheck: healthy when the service answers GET PATH (default /metrics) on PORT
with 200.

Usage: healthcheck PORT [PATH]   (exit 0 healthy, 1 not)
"""

import sys
import urllib.request


def main():
    port = int(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else "/metrics"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return 0 if response.status == 200 else 1
    except OSError as e:
        print(f"unhealthy: {path} on port {port}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
