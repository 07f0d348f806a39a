#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
stop_pidfile clickhouse "$DATA_DIR/infra/clickhouse/clickhouse.pid"
