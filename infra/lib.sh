# Shared helpers for the infra scripts. Sourced, not run.
# Layout: downloads are cached under $TRIBUTARY_INFRA_CACHE_DIR (default ~/.cache/tributary; Maven's own cache is ~/.m2),
# everything a running service writes (data, logs, pid files) lives under $TRIBUTARY_DATA_DIR/infra/<service>.
set -euo pipefail

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT_DIR="$(cd "$INFRA_DIR/.." && pwd)"
DATA_DIR="${TRIBUTARY_DATA_DIR:-$ROOT_DIR/.tributary}"
case "$DATA_DIR" in /*) ;; *) DATA_DIR="$ROOT_DIR/$DATA_DIR" ;; esac
CACHE_DIR="${TRIBUTARY_INFRA_CACHE_DIR:-$HOME/.cache/tributary}"
mkdir -p "$CACHE_DIR"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

log() { printf '[infra %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[infra %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# pid_alive PIDFILE: true when the pid file names a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# port_owner PORT: the command line of whatever listens on PORT (empty when nothing or unknown).
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/\1 pid \2/p' | head -n1; }

# wait_ready NAME PIDFILE LOGFILE SECONDS CHECK...: polls CHECK until it succeeds; fails early when the process dies,
# and on failure prints the tail of the service's log so the reason is on screen.
wait_ready() {
  local name="$1" pidfile="$2" logfile="$3" secs="$4"; shift 4
  local deadline=$((SECONDS + secs)) next_note=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@"; then return 0; fi
    if ! pid_alive "$pidfile"; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 60 "$logfile" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$next_note" ]; then log "still waiting for $name ($((deadline - SECONDS)) s left)"; next_note=$((SECONDS + 10)); fi
    sleep 0.5
  done
  log "$name not ready after $secs s; last lines of $logfile:"
  tail -n 60 "$logfile" >&2 || true
  return 1
}

# stop_pidfile NAME PIDFILE: SIGTERM, wait up to 30 s for a clean shutdown, then SIGKILL. Only touches our own pid.
stop_pidfile() {
  local name="$1" pidfile="$2"
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; log "$name: not running"; return 0; fi
  local pid; pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "$name: stopped"; return 0; }
    sleep 0.5
  done
  log "$name: no clean shutdown after 30 s, killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# refuse_foreign_port NAME PORT PIDFILE: a port held by someone else is an error, not something to reuse silently.
refuse_foreign_port() {
  local name="$1" port="$2" pidfile="$3"
  if port_open 127.0.0.1 "$port" && ! pid_alive "$pidfile"; then
    die "$name: port $port is already taken by $(port_owner "$port" || echo 'another process'); stop it, or run 'npm run infra:down' in the checkout that started it"
  fi
}

# java_major JAVA: the feature version (17, 21, 25 ...) of a java binary.
java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'; }

# find_java MIN: path of a java binary of at least version MIN: $JAVA_HOME, the default java, then /usr/lib/jvm/*.
find_java() {
  local min="$1" c
  for c in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -x "$c" ] || continue
    if [ "$(java_major "$c")" -ge "$min" ] 2>/dev/null; then echo "$c"; return 0; fi
  done
  return 1
}

# mvn_quiet LOGFILE ARGS...: runs Maven in batch mode with its output in LOGFILE; on failure prints the errors.
mvn_quiet() {
  local logfile="$1"; shift
  if ! mvn -B -ntp "$@" >"$logfile" 2>&1; then
    grep -E 'ERROR|BUILD' "$logfile" | sed 's/\x1b\[[0-9;]*m//g' | head -n 20 >&2
    return 1
  fi
}
