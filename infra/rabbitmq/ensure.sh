#!/usr/bin/env bash
# The pre-started RabbitMQ is used as it is: check it answers AMQP, then create the project's vhost for guest.
source "$(dirname "$0")/../lib.sh"
HOST=127.0.0.1; PORT="${TRIBUTARY_INFRA_AMQP_PORT:-5672}"; VHOST="${TRIBUTARY_INFRA_AMQP_VHOST:-tributary}"
port_open "$HOST" "$PORT" || die "rabbitmq: nothing listens on $HOST:$PORT; start it with: rabbitmq-server -detached"
if command -v rabbitmqctl >/dev/null; then
  if ! rabbitmqctl -q list_vhosts 2>/dev/null | grep -qx "$VHOST"; then
    rabbitmqctl -q add_vhost "$VHOST" >/dev/null && log "rabbitmq: created vhost $VHOST"
  fi
  rabbitmqctl -q set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
else
  log "rabbitmq: rabbitmqctl not on this machine; using the broker as it is (vhost '$VHOST' must exist)"
fi
