#!/usr/bin/env bash
# Sets up the primary: roles, database, schema, grants, replication access, seeded nodes.
# Idempotent: safe to run again (it only creates what is missing, and updates passwords).
# Run by the image on first start (/docker-entrypoint-initdb.d), or by hand against any server
# with the usual libpq variables (PGHOST, PGPORT, PGUSER: a superuser).
#
#   DATABASE              database of the suite (default: $POSTGRES_DB, else "archive")
#   APP_USER              role the services connect as (default "archive")
#   APP_PASSWORD          its password (required)
#   READONLY_USER         read-only role, e.g. for dashboards (default "readonly")
#   READONLY_PASSWORD     its password; empty = no read-only role
#   REPLICATION_USER      role standbys replicate as (default "replicator")
#   REPLICATION_PASSWORD  its password; empty = no replication role
#   REPLICATION_HBA       pg_hba.conf to allow the replication role in (default
#                         $PGDATA/pg_hba.conf if PGDATA is set; empty = leave pg_hba alone)
#   SCHEMA_FILE           the suite's schema (default /opt/archive/schema.sql, else the repo's)
#   NODES_CSV             CSV "name,url[,backfill_from]" with a header row, seeded into nodes
#                         if the file exists (default /opt/archive/nodes.csv); existing names
#                         are left as they are
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATABASE=${DATABASE:-${POSTGRES_DB:-archive}}
APP_USER=${APP_USER:-archive}
APP_PASSWORD=${APP_PASSWORD:-}
READONLY_USER=${READONLY_USER:-readonly}
READONLY_PASSWORD=${READONLY_PASSWORD:-}
REPLICATION_USER=${REPLICATION_USER:-replicator}
REPLICATION_PASSWORD=${REPLICATION_PASSWORD:-}
REPLICATION_HBA=${REPLICATION_HBA-${PGDATA:+$PGDATA/pg_hba.conf}}
NODES_CSV=${NODES_CSV:-/opt/archive/nodes.csv}
if [ -z "${SCHEMA_FILE:-}" ]; then
    SCHEMA_FILE=/opt/archive/schema.sql
    [ -f "$SCHEMA_FILE" ] || SCHEMA_FILE=$here/schema.sql
fi
export PGUSER=${PGUSER:-${POSTGRES_USER:-postgres}}

fail() { echo "setup-primary: $*" >&2; exit 1; }
[ -n "$APP_PASSWORD" ] || fail "APP_PASSWORD must be set"
[ -f "$SCHEMA_FILE" ] || fail "schema file $SCHEMA_FILE not found"

run_psql() {
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v database="$DATABASE" -v app_user="$APP_USER" \
        -v app_password="$APP_PASSWORD" -v readonly_user="$READONLY_USER" \
        -v readonly_password="$READONLY_PASSWORD" -v replication_user="$REPLICATION_USER" \
        -v replication_password="$REPLICATION_PASSWORD" "$@"
}

echo "setup-primary: roles and database $DATABASE" >&2
run_psql --dbname postgres <<'SQL'
SELECT format('CREATE ROLE %I', :'app_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN NOSUPERUSER PASSWORD :'app_password';

SELECT format('CREATE ROLE %I', :'readonly_user')
    WHERE :'readonly_password' <> ''
      AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'readonly_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER PASSWORD %L', :'readonly_user',
              :'readonly_password')
    WHERE :'readonly_password' <> '' \gexec

SELECT format('CREATE ROLE %I', :'replication_user')
    WHERE :'replication_password' <> ''
      AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'replication_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER PASSWORD %L',
              :'replication_user', :'replication_password')
    WHERE :'replication_password' <> '' \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'app_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'database') \gexec
ALTER DATABASE :"database" OWNER TO :"app_user";
SQL

echo "setup-primary: schema and grants" >&2
# The schema is applied as the application role, so it owns the tables it later alters.
run_psql --dbname "$DATABASE" <<SQL
ALTER SCHEMA public OWNER TO :"app_user";
SET ROLE :"app_user";
\i $SCHEMA_FILE
RESET ROLE;
SQL

if [ -n "$READONLY_PASSWORD" ]; then
    run_psql --dbname "$DATABASE" <<'SQL'
GRANT CONNECT ON DATABASE :"database" TO :"readonly_user";
GRANT USAGE ON SCHEMA public TO :"readonly_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"readonly_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"app_user" IN SCHEMA public
    GRANT SELECT ON TABLES TO :"readonly_user";
SQL
fi

if [ -f "$NODES_CSV" ]; then
    echo "setup-primary: seeding nodes from $NODES_CSV" >&2
    # The header names the columns present (backfill_from is optional).
    columns=$(head -n 1 "$NODES_CSV" | tr -d ' \r')
    case ",$columns," in
        *,name,*) ;;
        *) fail "$NODES_CSV: the header must name the columns: name,url[,backfill_from]" ;;
    esac
    for column in ${columns//,/ }; do
        case "$column" in
            name|url|backfill_from) ;;
            *) fail "$NODES_CSV: unknown column '$column' (known: name, url, backfill_from)" ;;
        esac
    done
    case ",$columns," in
        *,url,*) ;;
        *) fail "$NODES_CSV: the url column is required" ;;
    esac
    run_psql --dbname "$DATABASE" \
        -c "SET ROLE \"$APP_USER\"" \
        -c "CREATE TEMP TABLE nodes_seed (name TEXT, url TEXT, backfill_from BOOLEAN)" \
        -c "\\copy nodes_seed ($columns) FROM pstdin WITH (FORMAT csv, HEADER true)" \
        -c "INSERT INTO nodes (name, url, backfill_from)
            SELECT name, url, COALESCE(backfill_from, TRUE) FROM nodes_seed
            ON CONFLICT (name) DO NOTHING" < "$NODES_CSV"
fi

if [ -n "$REPLICATION_PASSWORD" ] && [ -n "$REPLICATION_HBA" ]; then
    line="host replication $REPLICATION_USER all scram-sha-256"
    if ! grep -qxF "$line" "$REPLICATION_HBA"; then
        echo "setup-primary: allowing replication for $REPLICATION_USER in $REPLICATION_HBA" >&2
        printf '%s\n' "$line" >> "$REPLICATION_HBA"
        run_psql --dbname postgres -c "SELECT pg_reload_conf()" >/dev/null
    fi
fi
echo "setup-primary: done" >&2
