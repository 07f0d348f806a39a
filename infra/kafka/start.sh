#!/usr/bin/env bash
# Apache Kafka 4.x (KRaft, one node) from Maven Central jars: fetch once, format once, start, wait until it serves.
# Data survives restarts (the log is the system of record); `npm run infra:down -- --wipe` clears it.
source "$(dirname "$0")/../lib.sh"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$INFRA_DIR/kafka/pom.xml")"
PORT="${TRIBUTARY_INFRA_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${TRIBUTARY_INFRA_KAFKA_CONTROLLER_PORT:-9093}"
LIB="$CACHE_DIR/kafka-$KAFKA_VERSION/lib"
RUN="$DATA_DIR/infra/kafka"
PIDFILE="$RUN/kafka.pid"
JAVA="${TRIBUTARY_INFRA_KAFKA_JAVA:-$(find_java 17 || true)}"
# Any 16 bytes in base64url make a valid cluster id; a fixed one saves a JVM start for `random-uuid`.
CLUSTER_ID="TrIbUtArY0kAfKa4NoDe1w"

if pid_alive "$PIDFILE" && port_open 127.0.0.1 "$PORT"; then log "kafka already running on 127.0.0.1:$PORT"; exit 0; fi
refuse_foreign_port kafka "$PORT" "$PIDFILE"

[ -n "$JAVA" ] || die "kafka: needs Java 17 or newer; none found (apt-get install openjdk-17-jre-headless, or set TRIBUTARY_INFRA_KAFKA_JAVA)"

if [ ! -f "$LIB/.complete" ]; then
  log "kafka: resolving Apache Kafka $KAFKA_VERSION jars from Maven Central (first run only, ~45 MB)"
  rm -rf "$LIB"; mkdir -p "$LIB"
  mvn_quiet "$CACHE_DIR/mvn-kafka.log" -f "$INFRA_DIR/kafka/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$LIB" -DincludeScope=runtime || die "kafka: Maven could not resolve the broker jars (see above)"
  touch "$LIB/.complete"
fi

mkdir -p "$RUN/logs" "$RUN/data"
sed -e "s#@DATA_DIR@#$RUN/data#" -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
  "$INFRA_DIR/kafka/server.properties" > "$RUN/server.properties"
LOG_OPTS=(-Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.xml")

if [ ! -f "$RUN/data/meta.properties" ]; then
  log "kafka: formatting KRaft storage in $RUN/data"
  "$JAVA" -Xmx256m -Djava.awt.headless=true "${LOG_OPTS[@]}" -Dkafka.logs.dir="$RUN/logs" \
    -cp "$LIB/*" kafka.tools.StorageTool format --standalone -t "$CLUSTER_ID" -c "$RUN/server.properties" \
    > "$RUN/logs/format.out" 2>&1 || { cat "$RUN/logs/format.out" >&2; die "kafka: storage format failed"; }
fi

log "kafka: starting $KAFKA_VERSION on 127.0.0.1:$PORT (logs in $RUN/logs)"
nohup "$JAVA" -Xms256m -Xmx1g -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true "${LOG_OPTS[@]}" -Dkafka.logs.dir="$RUN/logs" \
  -cp "$LIB/*" kafka.Kafka "$RUN/server.properties" > "$RUN/logs/kafka.out" 2>&1 < /dev/null &
echo $! > "$PIDFILE"

# The client listener opens only after the broker is unfenced, so an accepted connection means ready.
wait_ready kafka "$PIDFILE" "$RUN/logs/server.log" 120 port_open 127.0.0.1 "$PORT" || exit 1
log "kafka ready: 127.0.0.1:$PORT"
