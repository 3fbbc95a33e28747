#!/usr/bin/env bash
# 10,000 concurrent async jobs (std/sleep) over 3 pie-sim servers with 2 sessions each: every job
# must complete (none lost), and the gateway's CPU time and RSS per job are reported.
#   1. 10,000 calls of an async endpoint (pg-loadgen, 5,000/s for 2 s) -> 10,000 jobs sleeping SLEEP_MS.
#   2. wait until all 10,000 run at once, read RSS; wait until all have ended; count the states.
# Usage: bench/cluster_jobs.sh [sleep ms (default 15000)]
set -euo pipefail
cd "$(dirname "$0")/.."
SLEEP_MS=${1:-15000}
JOBS=10000
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
need_binaries pie-sim pie-gateway pg-loadgen
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }  # utime + stime, clock ticks
metric() {  # a sample's value from /metrics (0 if absent)
  curl -s "http://127.0.0.1:$GW_PORT/metrics" | awk -v k="$1" 'index($0, k" ") == 1 {v=$2} END {print v+0}'
}

SERVERS=""
for i in 0 1 2; do
  "$BIN/pie-sim" --port 0 >"$WORK/sim$i.out" 2>"$WORK/sim$i.err" &
  PIDS+=($!)
  port=$(port_of "$WORK/sim$i.out")
  SERVERS+="  - {name: sim$i, uri: \"ws://127.0.0.1:$port/\", sessions: 2}
"
done
start_gateway "logging: {level: warn}
jobs: {retention: 1h, max_live: 20000, max_finished: 100000}
servers:
$SERVERS
endpoints:
  - {name: sleep_async, kind: get, async: true, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}],
     arguments: [\"--ms\", \"{ms}\"], timeout: 10m}"
BASE_RSS=$(rss_kib)
BASE_CPU=$(cpu_ticks)
echo "gateway RSS at start: $BASE_RSS KiB; submitting $JOBS jobs of std/sleep $SLEEP_MS ms"
"$BIN/pg-loadgen" --mode http --url "http://127.0.0.1:$GW_PORT/sleep_async?ms=$SLEEP_MS" --rate 5000 --duration 2 \
  --warmup 0 --connections 16 2>/dev/null | sed -n 2p | sed 's/ | .*//'
RUNNING='pie_gateway_jobs{state="running"}'
for _ in $(seq 1 300); do [ "$(metric "$RUNNING")" -ge "$JOBS" ] && break; sleep 0.1; done
PEAK_RSS=$(rss_kib)
echo "running at once: $(metric "$RUNNING"); gateway RSS $PEAK_RSS KiB"
for _ in $(seq 1 $((SLEEP_MS / 100 + 600))); do
  [ "$(metric "$RUNNING")" = 0 ] && [ "$(metric 'pie_gateway_jobs{state="queued"}')" = 0 ] && break; sleep 0.1
done
END_CPU=$(cpu_ticks)
DONE=$(metric 'pie_gateway_jobs_total{endpoint="sleep_async",state="completed"}')
FAILED=$(metric 'pie_gateway_jobs_total{endpoint="sleep_async",state="failed"}')
STARTED=$(metric 'pie_gateway_jobs_started_total{endpoint="sleep_async"}')
REJECTED=$(metric 'pie_gateway_job_rejections_total')
echo "jobs started $STARTED, completed $DONE, failed $FAILED, rejected $REJECTED"
curl -s "http://127.0.0.1:$GW_PORT/gateway/servers" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["result"]:
    print("  %s: %s, launches %d, failures %d, reconnects %d" % (s["name"], s["state"], s["launches"], s["launch_failures"], s["reconnects"]))'
TCK=$(getconf CLK_TCK)
python3 -c "
cpu = ($END_CPU - $BASE_CPU) / $TCK
print(f'gateway CPU time {cpu:.2f} s = {cpu / $JOBS * 1e6:.0f} us per job (submit, launch, complete, retain)')
print(f'gateway RSS growth at peak {($PEAK_RSS - $BASE_RSS) / 1024:.1f} MiB = {($PEAK_RSS - $BASE_RSS) * 1024 / $JOBS:.0f} bytes per running job')"
[ "$DONE" = "$JOBS" ] && [ "$FAILED" = 0 ] && echo "OK: all $JOBS completed, none lost" || { echo "FAIL: not all completed"; exit 1; }
