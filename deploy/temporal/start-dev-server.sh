#!/usr/bin/env bash
# Starts a Temporal dev server for development (builds the CLI first if needed); runs in the foreground.
# Usage: deploy/temporal/start-dev-server.sh [port] [ui-port] [db-file]
#   port     gRPC frontend port (default 7233: the CLI's default $MAL_TEMPORAL_ADDRESS is 127.0.0.1:7233)
#   ui-port  web UI port (default port + 1000)
#   db-file  SQLite file that keeps workflows across restarts (default: the cache folder's dev-server.db)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
binary="$("$here/build-temporal-cli.sh")"
port="${1:-7233}"
ui_port="${2:-$((port + 1000))}"
db_file="${3:-$(dirname "$binary")/dev-server.db}"

echo "Temporal dev server on 127.0.0.1:$port (UI http://127.0.0.1:$ui_port, state $db_file)" >&2
exec "$binary" server start-dev --headless --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" \
  --db-filename "$db_file" --log-level warn
