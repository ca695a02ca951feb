#!/usr/bin/env bash
# Starts a streaming-replication standby: on first start (empty PGDATA) it clones the primary
# with pg_basebackup (-R writes standby.signal and primary_conninfo), then runs postgres. A
# standby that has been promoted (pg_promote) keeps running as the primary it became.
#
#   PRIMARY_HOST          the primary (required)
#   PRIMARY_PORT          its port (default 5432)
#   REPLICATION_USER      replication role on the primary (default "replicator")
#   REPLICATION_PASSWORD  its password (required)
#   PGDATA                data directory (default /var/lib/postgresql/data)
#   PRIMARY_WAIT          seconds to wait for the primary to accept connections (default 300)
#
# Usage: setup-standby.sh [--prepare-only] [postgres options...]
#   --prepare-only: clone if needed, then exit instead of starting postgres.
set -euo pipefail

PGDATA=${PGDATA:-/var/lib/postgresql/data}
PRIMARY_HOST=${PRIMARY_HOST:-}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICATION_USER=${REPLICATION_USER:-replicator}
REPLICATION_PASSWORD=${REPLICATION_PASSWORD:-}
PRIMARY_WAIT=${PRIMARY_WAIT:-300}
export PGDATA

fail() { echo "setup-standby: $*" >&2; exit 1; }

prepare_only=
if [ "${1:-}" = "--prepare-only" ]; then
    prepare_only=1
    shift
fi

# The image starts as root: own the data directory, then run as postgres.
if [ "$(id -u)" = 0 ] && command -v gosu >/dev/null 2>&1; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec gosu postgres "$0" ${prepare_only:+--prepare-only} "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -n "$PRIMARY_HOST" ] || fail "PRIMARY_HOST must be set"
    [ -n "$REPLICATION_PASSWORD" ] || fail "REPLICATION_PASSWORD must be set"
    echo "setup-standby: waiting for the primary $PRIMARY_HOST:$PRIMARY_PORT" >&2
    deadline=$((SECONDS + PRIMARY_WAIT))
    until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "primary $PRIMARY_HOST:$PRIMARY_PORT not ready after ${PRIMARY_WAIT}s"
        sleep 1
    done
    echo "setup-standby: cloning the primary into $PGDATA" >&2
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    # A half-finished clone must not look like a data directory next time: clone beside, move.
    staging="$PGDATA/.basebackup"
    rm -rf "$staging"
    PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup --pgdata="$staging" \
        --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER" \
        --wal-method=stream --write-recovery-conf --checkpoint=fast --no-password
    shopt -s dotglob
    for entry in "$staging"/*; do
        mv "$entry" "$PGDATA/"
    done
    rmdir "$staging"
    chmod 700 "$PGDATA"
    echo "setup-standby: clone complete" >&2
fi

if [ ! -f "$PGDATA/standby.signal" ]; then
    # Promoted (docs/production.md, failover): it is the primary now, and must stay up as one
    # across restarts instead of failing here.
    echo "setup-standby: $PGDATA was promoted (no standby.signal): running it as a primary" >&2
fi
if [ -n "$prepare_only" ]; then
    exit 0
fi
exec postgres -c hot_standby=on "$@"
