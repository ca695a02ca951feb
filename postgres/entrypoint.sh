#!/usr/bin/env bash
# The image's entrypoint: POSTGRES_ROLE=primary (default) or standby.
set -euo pipefail
case "${POSTGRES_ROLE:-primary}" in
    primary)
        # The official entrypoint initialises PGDATA on first start and runs
        # /docker-entrypoint-initdb.d/ (our setup-primary.sh) once.
        exec docker-entrypoint.sh postgres -c wal_level=replica -c max_wal_senders=10 \
            -c wal_keep_size="${WAL_KEEP_SIZE:-1GB}" -c hot_standby=on "$@"
        ;;
    standby)
        exec /opt/archive/setup-standby.sh "$@"
        ;;
    *)
        echo "entrypoint: POSTGRES_ROLE must be primary or standby, not ${POSTGRES_ROLE}" >&2
        exit 2
        ;;
esac
