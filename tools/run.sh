#!/usr/bin/env bash
# Install what is missing, build, then run pie-sim (127.0.0.1:9123) and pie-gateway on its
# embedded default configuration (config/gateway.yaml, HTTP on 127.0.0.1:8080).
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
BIN=${BUILD_DIR:-build}/bin

"$BIN/pie-sim" --host 127.0.0.1 --port 9123 --token-delay-ms 20 &
SIM=$!
trap 'kill $SIM 2>/dev/null; wait $SIM 2>/dev/null' EXIT INT TERM
echo "try: curl 'http://127.0.0.1:8080/echo?text=hello'"
"$BIN/pie-gateway" "$@"
