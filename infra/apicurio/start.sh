#!/usr/bin/env bash
# Confluent-compatible Schema Registry: Apicurio Registry's prebuilt distribution from Maven Central, serving the
# Confluent API at http://127.0.0.1:8081/apis/ccompat/v7.
# - Apicurio 3.x (preferred) is compiled for Java 21; it stores schemas in the pre-started PostgreSQL (database
#   tributary_registry) so that schema ids stay valid for as long as Kafka keeps the records that carry them.
# - Without a Java 21+ on the machine, Apicurio 2.6.13.Final runs on Java 17 instead; that distribution has only its
#   in-memory store, so ids restart at 1 with the registry (infra:down --wipe clears Kafka and the registry together).
source "$(dirname "$0")/../lib.sh"

PREFERRED="$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$INFRA_DIR/apicurio/pom.xml")"
FALLBACK=2.6.13.Final
PORT="${TRIBUTARY_INFRA_REGISTRY_PORT:-8081}"
MGMT_PORT="${TRIBUTARY_INFRA_REGISTRY_MANAGEMENT_PORT:-9081}"
RUN="$DATA_DIR/infra/apicurio"
PIDFILE="$RUN/apicurio.pid"
PG_URL="${TRIBUTARY_INFRA_REGISTRY_JDBC_URL:-jdbc:postgresql://127.0.0.1:5432/tributary_registry}"
PG_USER="${TRIBUTARY_INFRA_REGISTRY_JDBC_USER:-postgres}"
CCOMPAT="http://127.0.0.1:$PORT/apis/ccompat/v7"

registry_answers() { curl -fsS -o /dev/null "$CCOMPAT/subjects" 2>/dev/null; }

if pid_alive "$PIDFILE" && registry_answers; then log "schema registry already running: $CCOMPAT"; exit 0; fi
refuse_foreign_port "schema registry" "$PORT" "$PIDFILE"

VERSION="${TRIBUTARY_INFRA_REGISTRY_VERSION:-}"
if [ -z "$VERSION" ]; then
  if find_java 21 >/dev/null; then VERSION="$PREFERRED"; else
    VERSION="$FALLBACK"
    log "schema registry: no Java 21+ found; using Apicurio $VERSION on Java 17 with its in-memory store"
  fi
fi
case "$VERSION" in 2.*) MIN_JAVA=17 ;; *) MIN_JAVA=21 ;; esac
JAVA="${TRIBUTARY_INFRA_REGISTRY_JAVA:-$(find_java "$MIN_JAVA" || true)}"
[ -n "$JAVA" ] || die "schema registry: Apicurio $VERSION needs Java $MIN_JAVA or newer; none found in JAVA_HOME, PATH or /usr/lib/jvm"
APP="$CACHE_DIR/apicurio-$VERSION"

if [ ! -f "$APP/.complete" ]; then
  log "schema registry: fetching Apicurio Registry $VERSION from Maven Central (first run only, ~150 MB)"
  DIST="$CACHE_DIR/downloads"
  mvn_quiet "$CACHE_DIR/mvn-apicurio.log" -f "$INFRA_DIR/apicurio/pom.xml" "$DEP_PLUGIN:copy" -Dapicurio.version="$VERSION" -Dapicurio.outputDirectory="$DIST" \
    || die "schema registry: Maven could not fetch io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all"
  rm -rf "$APP"; mkdir -p "$APP"
  tar -xzf "$DIST/apicurio-registry-app-$VERSION-all.tar.gz" -C "$APP"
  rm -f "$DIST/apicurio-registry-app-$VERSION-all.tar.gz"   # ~/.m2 keeps the original
  touch "$APP/.complete"
fi

mkdir -p "$RUN/tmp"
COMMON=(-Xms128m -Xmx512m -XX:+UseSerialGC -Djava.util.logging.manager=org.jboss.logmanager.LogManager
  -Djava.io.tmpdir="$RUN/tmp" -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT")
if [ -f "$APP/quarkus-run.jar" ]; then   # 3.x: Quarkus fast-jar layout, apicurio.* properties
  bash "$INFRA_DIR/postgres/ensure.sh" tributary_registry
  ARGS=("${COMMON[@]}" -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MGMT_PORT"
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql
    -Dapicurio.datasource.url="$PG_URL" -Dapicurio.datasource.username="$PG_USER" -Dapicurio.datasource.password=
    -Dapicurio.rules.global.compatibility=BACKWARD -jar "$APP/quarkus-run.jar")
else                                     # 2.x: legacy runner jar + lib/, registry.* properties
  ARGS=("${COMMON[@]}" -Dregistry.rules.global.compatibility=BACKWARD -jar "$(ls "$APP"/apicurio-registry-app-*-runner.jar)")
fi
log "schema registry: starting Apicurio $VERSION with $("$JAVA" -version 2>&1 | head -n1) on 127.0.0.1:$PORT (log $RUN/apicurio.log)"
nohup "$JAVA" "${ARGS[@]}" > "$RUN/apicurio.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"

wait_ready "schema registry" "$PIDFILE" "$RUN/apicurio.log" 180 registry_answers || exit 1
log "schema registry ready: $CCOMPAT"
