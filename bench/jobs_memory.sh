#!/usr/bin/env bash
# Memory held by finished jobs. An async endpoint is called at a fixed rate that pie-sim keeps
# up with (pg-loadgen, open loop), so every call becomes one job with a small result:
#   1. 120,000 calls -> the gateway holds jobs.max_finished = 100,000 finished jobs: RSS.
#   2. 200,000 more calls: the oldest are evicted, RSS stays put.
#   3. an overload burst (wrk, far beyond what pie-sim can run): calls beyond jobs.max_live get
#      503 InvalidServerState instead of queueing without bound: RSS after it drains.
# Usage: bench/jobs_memory.sh [rate (default 10000)]
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-10000}
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
need_binaries pie-sim pie-gateway pg-loadgen
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
count() {  # state -> how many jobs gateway/jobs lists in that state (limit 10000)
  python3 - "$GW_PORT" "$1" <<'PY'
import json, sys, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/gateway/jobs?limit=10000&state={sys.argv[2]}"
print(len(json.load(urllib.request.urlopen(url))["result"]))
PY
}
drain() { for _ in $(seq 1 200); do [ "$(count running)" = 0 ] && [ "$(count queued)" = 0 ] && return; sleep 0.1; done; }
load() {  # seconds
  "$BIN/pg-loadgen" --mode http --url "http://127.0.0.1:$GW_PORT/echo_async?text=hello%20world" --rate "$RATE" \
    --duration "$1" --warmup 0 --connections 16 2>/dev/null | sed -n 2p | sed 's/.*sent/  sent/; s/ | .*//'
}

start_sim
start_gateway "logging: {level: warn}
jobs: {retention: 1h, max_finished: 100000, max_live: 10000}
servers:
  - {name: sim, uri: \"ws://127.0.0.1:$SIM_PORT/\", sessions: 4}
endpoints:
  - {name: echo_async, kind: get, async: true, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}"
BASE=$(rss_kib)
echo "gateway RSS at start: $BASE KiB"
load $((120000 / RATE))
drain
AT_CAP=$(rss_kib)
echo "1. after 120,000 calls, holding 100,000 finished jobs: RSS $AT_CAP KiB"
python3 -c "print(f'   = {($AT_CAP-$BASE)*1024/100000:.0f} bytes of RSS growth per finished job')"
load $((200000 / RATE))
drain
echo "2. after 200,000 more (oldest evicted): RSS $(rss_kib) KiB"
wrk -t1 -c64 -d5s "http://127.0.0.1:$GW_PORT/echo_async?text=hello%20world" 2>/dev/null |
  awk '/requests in/ {n=$1} /Non-2xx/ {bad=$NF} END {printf "3. overload burst: %d calls in 5 s, %d answered 503 (jobs.max_live)\n", n, bad}'
drain
echo "   after it drains: RSS $(rss_kib) KiB"
