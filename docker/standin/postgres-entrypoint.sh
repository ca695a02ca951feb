#!/usr/bin/env bash
# docker-entrypoint.sh of the local postgres stand-in (postgres.Dockerfile). Written for this
# project; it provides the part of the official image's documented interface the suite uses:
#   - started as root: owns PGDATA and the socket directory, then runs as postgres (gosu);
#   - first start (PGDATA has no PG_VERSION): initdb as POSTGRES_USER (default postgres) with
#     POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust) and
#     POSTGRES_INITDB_ARGS; network connections authenticate with POSTGRES_HOST_AUTH_METHOD
#     (default scram-sha-256); POSTGRES_DB is created; then /docker-entrypoint-initdb.d/ runs
#     in name order (*.sh: executed if executable, else sourced; *.sql: psql) against a
#     temporary server reachable only through its unix socket;
#   - then runs the command (default: postgres); arguments starting with "-" go to postgres.
set -Eeuo pipefail

if [ "${1:0:1}" = - ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    export POSTGRES_USER=${POSTGRES_USER:-postgres}
    export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        echo "docker-entrypoint: POSTGRES_PASSWORD must be set (or POSTGRES_HOST_AUTH_METHOD=trust)" >&2
        exit 1
    fi
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
        ${POSTGRES_INITDB_ARGS:-} >/dev/null
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    pg_ctl --pgdata="$PGDATA" --wait --silent --options="-c listen_addresses=''" start
    export PGUSER=$POSTGRES_USER PGPASSWORD=${POSTGRES_PASSWORD:-}
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -X -q -v ON_ERROR_STOP=1 --dbname postgres -v db="$POSTGRES_DB" \
            -c 'CREATE DATABASE :"db"'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                echo "docker-entrypoint: running $f" >&2
                if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            *.sql)
                echo "docker-entrypoint: running $f" >&2
                psql -X -q -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" ;;
            *) echo "docker-entrypoint: ignoring $f" >&2 ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --wait --silent --mode=fast stop
    unset PGPASSWORD
    echo "docker-entrypoint: database initialised; starting" >&2
fi

exec "$@"
