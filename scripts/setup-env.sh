# Sourced by ./run-tests and ./run-local: installs what is missing, idempotently.
#  - Debian packages: ffmpeg, and the PostgreSQL server binaries (tests fall back to a private
#    cluster when no server listens on 127.0.0.1:5432); installed with apt when run as root.
#  - for ./run-tests only (it sets SETUP_TESTS=1): Prometheus and Alertmanager (promtool, amtool
#    and the prometheus server check and run prometheus/'s alerts and dashboard queries).
#  - .venv with every package of this checkout (editable) and the test tools.
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
if [ -n "${SETUP_TESTS:-}" ]; then
    { command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
    { command -v amtool && command -v prometheus-alertmanager; } >/dev/null 2>&1 \
        || missing+=(prometheus-alertmanager)
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
    echo "setup: installing Python packages into .venv" >&2
    .venv/bin/pip install -q --upgrade pip >/dev/null
    # Editable in "compat" mode: each package's folder goes on sys.path, so `common` is always
    # the real package and never a namespace merged with tests/common.
    .venv/bin/pip install -q -r requirements-test.txt --config-settings editable_mode=compat \
        -e ./common -e ./downloader -e ./backfiller -e ./restreamer -e ./cutter \
        -e ./uploader -e ./segment_coverage -e ./editor
    echo "$sum" > "$stamp"
fi
flock -u 9
