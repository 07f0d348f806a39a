#!/usr/bin/env bash
# Confluent-compatible Schema Registry: Apicurio Registry's prebuilt distribution from Maven Central, serving the
# Confluent API at http://127.0.0.1:8081/apis/ccompat/v7. Schemas are stored in the pre-started PostgreSQL
# (database tributary_registry) so that schema ids stay valid for as long as Kafka keeps the records that carry them;
# the in-memory default would hand out new ids after every restart.
source "$(dirname "$0")/../lib.sh"

VERSION="$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$INFRA_DIR/apicurio/pom.xml")"
PORT="${TRIBUTARY_INFRA_REGISTRY_PORT:-8081}"
MGMT_PORT="${TRIBUTARY_INFRA_REGISTRY_MANAGEMENT_PORT:-9081}"
APP="$CACHE_DIR/apicurio-$VERSION"
RUN="$DATA_DIR/infra/apicurio"
PIDFILE="$RUN/apicurio.pid"
PG_URL="${TRIBUTARY_INFRA_REGISTRY_JDBC_URL:-jdbc:postgresql://127.0.0.1:5432/tributary_registry}"
PG_USER="${TRIBUTARY_INFRA_REGISTRY_JDBC_USER:-postgres}"
CCOMPAT="http://127.0.0.1:$PORT/apis/ccompat/v7"

registry_answers() { curl -fsS -o /dev/null "$CCOMPAT/subjects" 2>/dev/null; }

if pid_alive "$PIDFILE" && registry_answers; then log "schema registry already running: $CCOMPAT"; exit 0; fi
refuse_foreign_port "schema registry" "$PORT" "$PIDFILE"

if [ ! -f "$APP/.complete" ]; then
  log "schema registry: fetching Apicurio Registry $VERSION from Maven Central (first run only, ~160 MB)"
  DIST="$CACHE_DIR/downloads"
  mvn -B -ntp -q -f "$INFRA_DIR/apicurio/pom.xml" "$DEP_PLUGIN:copy" -Dapicurio.outputDirectory="$DIST" \
    || die "schema registry: Maven could not fetch io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all"
  rm -rf "$APP"; mkdir -p "$APP"
  tar -xzf "$DIST/apicurio-registry-app-$VERSION-all.tar.gz" -C "$APP"
  rm -f "$DIST/apicurio-registry-app-$VERSION-all.tar.gz"   # ~/.m2 keeps the original
  touch "$APP/.complete"
fi

# Apicurio 3.3 is compiled for Java 21 (class file 65); the machine's default is 17, Temurin 25 sits in /usr/lib/jvm.
JAVA="${TRIBUTARY_INFRA_REGISTRY_JAVA:-$(find_java 21 || true)}"
[ -n "$JAVA" ] || die "schema registry: Apicurio $VERSION needs Java 21 or newer; none found in JAVA_HOME, PATH or /usr/lib/jvm. Install one, or set TRIBUTARY_INFRA_REGISTRY_JAVA"

bash "$INFRA_DIR/postgres/ensure.sh" tributary_registry

mkdir -p "$RUN/tmp"
log "schema registry: starting Apicurio $VERSION on 127.0.0.1:$PORT (log $RUN/apicurio.log)"
nohup "$JAVA" -Xms128m -Xmx512m -XX:+UseSerialGC \
  -Djava.util.logging.manager=org.jboss.logmanager.LogManager -Djava.io.tmpdir="$RUN/tmp" \
  -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$PORT" \
  -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$MGMT_PORT" \
  -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql \
  -Dapicurio.datasource.url="$PG_URL" -Dapicurio.datasource.username="$PG_USER" -Dapicurio.datasource.password= \
  -Dapicurio.rules.global.compatibility=BACKWARD \
  -jar "$APP/quarkus-run.jar" > "$RUN/apicurio.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"

wait_ready "schema registry" "$PIDFILE" "$RUN/apicurio.log" 180 registry_answers || exit 1
log "schema registry ready: $CCOMPAT"
