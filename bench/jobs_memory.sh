#!/usr/bin/env bash
# Memory held by finished jobs: floods an async endpoint (each call = one job with a small result)
# until the gateway holds jobs.max_finished (100,000) finished jobs, then keeps flooding to show
# that RSS stays bounded. Prints the gateway's RSS before, at 100k jobs, and after the flood.
# Usage: bench/jobs_memory.sh [flood seconds (default 10)]
set -euo pipefail
cd "$(dirname "$0")/.."
FLOOD=${1:-10}
BIN=${BUILD_DIR:-build}/bin
WORK=$(mktemp -d /tmp/pg-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
port_of() {
  for _ in $(seq 1 200); do
    p=$(grep -o 'listening on [0-9.]*:[0-9]*' "$1" 2>/dev/null | head -1 | sed 's/.*://') && [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.05
  done
  echo "no port in $1" >&2; exit 1
}
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

"$BIN/pie-sim" --port 0 >"$WORK/sim.out" 2>"$WORK/sim.err" & PIDS+=($!)
SIM_PORT=$(port_of "$WORK/sim.out")
cat >"$WORK/gw.yaml" <<YAML
listen: {http: "127.0.0.1:0"}
logging: {level: warn}
jobs: {retention: 1h, max_finished: 100000, max_live: 10000}
servers:
  - {name: sim, uri: "ws://127.0.0.1:$SIM_PORT/", sessions: 4}
endpoints:
  - {name: echo_async, kind: get, async: true, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
YAML
"$BIN/pie-gateway" --config "$WORK/gw.yaml" >"$WORK/gw.out" 2>"$WORK/gw.err" & GW=$!; PIDS+=($GW)
GW_PORT=$(port_of "$WORK/gw.out")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$GW_PORT/readyz" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$GW_PORT/echo_async?text=warm" >/dev/null

count_jobs() { curl -s "http://127.0.0.1:$GW_PORT/gateway/jobs?limit=10000&state=completed" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]))'; }
BASE=$(rss_kib $GW)
echo "gateway RSS at start: $BASE KiB"
# Flood until the retained set is full (100k), in rounds, so the figure is taken at the cap.
total=0
for round in $(seq 1 40); do
  out=$(wrk -t1 -c32 -d2s "http://127.0.0.1:$GW_PORT/echo_async?text=hello%20world" 2>/dev/null)
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  total=$((total + n))
  [ "$total" -ge 110000 ] && break
done
sleep 1
AT_CAP=$(rss_kib $GW)
echo "after $total async calls (jobs held: max_finished = 100000): RSS $AT_CAP KiB"
python3 -c "print(f'per finished job: {($AT_CAP-$BASE)*1024/100000:.0f} bytes (RSS growth / 100000)')"
wrk -t1 -c32 -d"${FLOOD}s" "http://127.0.0.1:$GW_PORT/echo_async?text=hello%20world" 2>/dev/null | awk '/requests in/ {print "flood: " $1 " more calls in '"$FLOOD"' s"}'
sleep 1
echo "after the flood: RSS $(rss_kib $GW) KiB (bounded: the oldest finished jobs are evicted)"
