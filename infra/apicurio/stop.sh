#!/usr/bin/env bash
source "$(dirname "$0")/../lib.sh"
stop_pidfile "schema registry" "$DATA_DIR/infra/apicurio/apicurio.pid"
