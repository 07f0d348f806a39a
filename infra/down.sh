#!/usr/bin/env bash
# Stop what up.sh started (by our own pid files only: the pre-started PostgreSQL and RabbitMQ are left running).
# --wipe also deletes the services' data and logs under the data dir (Kafka topics, ClickHouse tables).
source "$(dirname "$0")/lib.sh"
for svc in clickhouse apicurio kafka; do bash "$INFRA_DIR/$svc/stop.sh"; done
if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$DATA_DIR/infra/kafka" "$DATA_DIR/infra/apicurio" "$DATA_DIR/infra/clickhouse"
  # Schemas live in PostgreSQL; Kafka's records reference their ids, so they go together.
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'drop database if exists tributary_registry' >/dev/null 2>&1 || true
  log "wiped service data under $DATA_DIR/infra and the registry database"
fi
