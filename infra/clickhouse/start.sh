#!/usr/bin/env bash
# ClickHouse from Debian's clickhouse-server package (18.16 on bookworm), run as our own process with its own
# config and data dir (not the system service), HTTP on 127.0.0.1:8123.
source "$(dirname "$0")/../lib.sh"

HTTP_PORT="${TRIBUTARY_INFRA_CLICKHOUSE_HTTP_PORT:-8123}"
TCP_PORT="${TRIBUTARY_INFRA_CLICKHOUSE_TCP_PORT:-9000}"
INTERSERVER_PORT="${TRIBUTARY_INFRA_CLICKHOUSE_INTERSERVER_PORT:-9009}"
RUN="$DATA_DIR/infra/clickhouse"
PIDFILE="$RUN/clickhouse.pid"
URL="http://127.0.0.1:$HTTP_PORT"

clickhouse_answers() { [ "$(curl -fsS "$URL/ping" 2>/dev/null)" = "Ok." ]; }

if pid_alive "$PIDFILE" && clickhouse_answers; then log "clickhouse already running: $URL"; exit 0; fi
refuse_foreign_port clickhouse "$HTTP_PORT" "$PIDFILE"

if ! command -v clickhouse-server >/dev/null; then
  log "clickhouse: installing Debian's clickhouse-server (first run only)"
  export DEBIAN_FRONTEND=noninteractive
  # apt's lists may be missing or stale on a fresh machine; install once without, once after an update.
  apt-get install -y -q --no-install-recommends clickhouse-server clickhouse-client >"$CACHE_DIR/apt-clickhouse.log" 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends clickhouse-server clickhouse-client >>"$CACHE_DIR/apt-clickhouse.log" 2>&1; } \
    || { tail -n 30 "$CACHE_DIR/apt-clickhouse.log" >&2; die "clickhouse: apt-get install clickhouse-server failed (needs root and Debian's package lists)"; }
fi

mkdir -p "$RUN/logs" "$RUN/data" "$RUN/tmp" "$RUN/user_files" "$RUN/format_schemas"
sed -e "s#@RUN@#$RUN#g" -e "s#@INFRA@#$INFRA_DIR#g" -e "s#@HTTP_PORT@#$HTTP_PORT#" -e "s#@TCP_PORT@#$TCP_PORT#" \
  -e "s#@INTERSERVER_PORT@#$INTERSERVER_PORT#" "$INFRA_DIR/clickhouse/config.xml" > "$RUN/config.xml"

log "clickhouse: starting $(dpkg-query -W -f='${Version}' clickhouse-server 2>/dev/null || echo '(version unknown)') on 127.0.0.1:$HTTP_PORT (logs in $RUN/logs)"
# Run from the run dir: 18.16 writes status and preprocessed config files next to where it starts.
# `;` not `&&`: with `cd && nohup … &` bash backgrounds a subshell and $! would be its pid, not the server's.
(cd "$RUN"; nohup clickhouse-server --config-file="$RUN/config.xml" > "$RUN/logs/stdout.log" 2>&1 < /dev/null & echo $! > "$PIDFILE")

wait_ready clickhouse "$PIDFILE" "$RUN/logs/clickhouse-server.err.log" 90 clickhouse_answers || exit 1
log "clickhouse ready: $URL"
