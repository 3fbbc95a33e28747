#!/usr/bin/env bash
# Start the example cluster: three pie-sim servers (127.0.0.1:9201-9203, token auth) and the
# gateway on config/cluster-example.yaml (HTTP on 127.0.0.1:8080). Ctrl-C stops everything.
# Builds first unless NO_BUILD=1. Extra arguments go to pie-gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${NO_BUILD:-0}" = 1 ] || tools/build.sh
BIN=${BUILD_DIR:-build}/bin

DIR=$(mktemp -d /tmp/pie-cluster-XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
(umask 077; head -c 24 /dev/urandom | base64 > "$DIR/token")   # the shared internal token, never in the YAML

for port in 9201 9202 9203; do
  "$BIN/pie-sim" --host 127.0.0.1 --port "$port" --auth token --token-file "$DIR/token" --token-delay-ms 20 \
    2>"$DIR/pie-sim-$port.log" &
  PIDS+=($!)
done
echo "pie-sim servers on 9201-9203 (logs in $DIR); try: curl http://127.0.0.1:8080/gateway/servers"
PIE_TOKEN=$(cat "$DIR/token") "$BIN/pie-gateway" --config config/cluster-example.yaml "$@" &
PIDS+=($!)
wait "${PIDS[-1]}"
