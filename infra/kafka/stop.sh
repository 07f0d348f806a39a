#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
stop_pidfile kafka "$DATA_DIR/infra/kafka/kafka.pid"
