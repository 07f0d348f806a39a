#!/usr/bin/env bash
# Install (once, cached) and start everything Tributary uses on real infrastructure, then wait until each answers.
# Idempotent: services already running are left alone, so a second run takes seconds.
#   Kafka 4.x (KRaft)            127.0.0.1:9092
#   Schema Registry (Apicurio)   http://127.0.0.1:8081/apis/ccompat/v7
#   ClickHouse                   http://127.0.0.1:8123
#   PostgreSQL (pre-started)     postgres://postgres@127.0.0.1:5432/tributary
#   RabbitMQ (pre-started)       amqp://guest:guest@127.0.0.1:5672/tributary
source "$(dirname "$0")/lib.sh"
start=$SECONDS

bash "$INFRA_DIR/postgres/ensure.sh"
bash "$INFRA_DIR/rabbitmq/ensure.sh"

# The JVMs start in parallel: on 2 cores this roughly halves the cold start.
pids=(); names=()
for svc in kafka apicurio clickhouse; do
  bash "$INFRA_DIR/$svc/start.sh" & pids+=($!); names+=("$svc")
done
failed=()
for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
[ ${#failed[@]} -eq 0 ] || die "could not start: ${failed[*]} (the log tail is printed above; data and logs are under $DATA_DIR/infra)"

log "all services up in $((SECONDS - start)) s"
cat <<URLS
  TRIBUTARY_KAFKA_BROKERS=127.0.0.1:${TRIBUTARY_INFRA_KAFKA_PORT:-9092}
  TRIBUTARY_SCHEMA_REGISTRY_URL=http://127.0.0.1:${TRIBUTARY_INFRA_REGISTRY_PORT:-8081}/apis/ccompat/v7
  TRIBUTARY_CLICKHOUSE_URL=http://127.0.0.1:${TRIBUTARY_INFRA_CLICKHOUSE_HTTP_PORT:-8123}
  TRIBUTARY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tributary
  TRIBUTARY_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/tributary
URLS
