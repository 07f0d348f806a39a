#!/usr/bin/env bash
# The pre-started PostgreSQL is used as it is: check it answers, then create the databases the project needs.
# Usage: ensure.sh [DB ...]   (default: tributary tributary_registry)
source "$(dirname "$0")/../lib.sh"
PGHOST="${TRIBUTARY_INFRA_PGHOST:-127.0.0.1}"; PGPORT="${TRIBUTARY_INFRA_PGPORT:-5432}"; PGUSER="${TRIBUTARY_INFRA_PGUSER:-postgres}"
export PGHOST PGPORT PGUSER
command -v psql >/dev/null || die "postgres: psql not found (apt-get install postgresql-client)"
psql -d postgres -Atqc 'select 1' >/dev/null 2>&1 \
  || die "postgres: no answer at $PGUSER@$PGHOST:$PGPORT; start it with: pg_ctlcluster \$(ls /etc/postgresql) main start"
dbs=("$@"); [ ${#dbs[@]} -gt 0 ] || dbs=(tributary tributary_registry)
for db in "${dbs[@]}"; do
  if [ "$(psql -d postgres -Atqc "select 1 from pg_database where datname = '$db'")" != 1 ]; then
    psql -d postgres -qc "create database \"$db\"" >/dev/null && log "postgres: created database $db"
  fi
done
