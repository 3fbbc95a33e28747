#!/usr/bin/env bash
# The soak: SOAK_MINUTES (default 10) of mixed traffic at a fixed rate through one gateway in
# front of three pie-sim servers with faults, with clients that vanish; a report every minute
# and a verdict at the end (exit 1 when a check fails).
#
#   servers  healthy   Pie 0.2, streams tokens 2 ms apart
#            dropping  Pie 0.5, drops each session after it sent 3,000 messages; SIGKILLed and
#                      restarted after 3 s every other RESTART_EVERY
#            faulty    Pie 0.2, alternately stalls each session after 1,000 received messages and
#                      refuses every launch (20 ms reply delay); SIGKILLed and restarted in the
#                      other mode after 20 s (past cluster.server_lost_after) every other RESTART_EVERY
#   traffic  pg-soak (bench/soak): about 137 calls/s at scale 1: sync GET
#            and TARP RPC calls, async submit/asyncProbe/asyncGet, async jobs watched over SSE,
#            SSE call streams, HTTP conversations, gRPC Call, CallStream, Converse and
#            SubmitJob+WaitJob; every 4th stream or conversation is dropped by its client, and
#            a vanish class closes sockets mid-call, mid-head and mid-body; a bad class sends
#            requests that must be refused (400/404/405). Every call has a 60 s client deadline
#            (the endpoints time out after 15 s).
#   report   every minute: the gateway's RSS and open fds (/proc), calls answered by class
#            (2xx, 4xx and 5xx by code, gRPC codes, vanished by design, shed), and calls that
#            got no answer: "unanswered" (deadline passed), "closed/bad" (connection ended
#            without an answer, or an answer that does not fit).
#   verdict  zero unanswered, closed and bad; RSS flat after the warm-up (growth and least-
#            squares slope under the thresholds below); fds idle after the load back to their
#            idle level before it; no job left queued or running; no conversation left open;
#            the gateway alive, and exiting 0 on SIGTERM without a sanitizer report.
#
# Usage: bench/soak.sh
# Env: SOAK_MINUTES (10), SOAK_SCALE (1: rate multiplier), SOAK_WARMUP (s; 120, or 60 under 5
#      minutes: the job table fills for jobs.retention = 30 s first; the RSS check needs at least
#      3 minutes), SOAK_RESTART_EVERY (s, 60), SOAK_RSS_SLOPE_MAX (KiB/min, 512),
#      SOAK_RSS_GROWTH_MAX (KiB, 6144), SOAK_FD_SLACK (8), BUILD_DIR (build; RelWithDebInfo).
# Builds nothing. Everything listens on 127.0.0.1 only and stops when the script ends.
# The whole script is one block so that bash has read all of it before it runs (it takes minutes).
{
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${SOAK_MINUTES:-10}
SCALE=${SOAK_SCALE:-1}
DURATION=$((MINUTES * 60))
WARMUP=${SOAK_WARMUP:-$([ "$MINUTES" -ge 5 ] && echo 120 || echo 60)}
RESTART_EVERY=${SOAK_RESTART_EVERY:-60}
RSS_SLOPE_MAX=${SOAK_RSS_SLOPE_MAX:-512}
RSS_GROWTH_MAX=${SOAK_RSS_GROWTH_MAX:-6144}
FD_SLACK=${SOAK_FD_SLACK:-8}
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
need_binaries pie-sim pie-gateway pg-soak

declare -A PORT PID ARGS
FAULTY_MODES=("--stall-after 1000" "--refuse-launches --reply-delay-ms 20")
ARGS[healthy]="--token-delay-ms 2"
ARGS[dropping]="--protocol 0.5 --drop-after 3000 --reply-delay-ms 2"
ARGS[faulty]=${FAULTY_MODES[0]}

start_server() {  # name: start pie-sim NAME with ARGS[NAME], on PORT[NAME] once it has one
  local name=$1
  for _ in $(seq 1 20); do
    # shellcheck disable=SC2086
    "$BIN/pie-sim" --port "${PORT[$name]:-0}" ${ARGS[$name]} >"$WORK/$name.out" 2>>"$WORK/$name.err" &
    PID[$name]=$!; PIDS+=(${PID[$name]})
    for _ in $(seq 1 100); do
      grep -qs 'listening on' "$WORK/$name.out" && break
      kill -0 "${PID[$name]}" 2>/dev/null || break
      sleep 0.05
    done
    if grep -qs 'listening on' "$WORK/$name.out"; then
      PORT[$name]=$(grep -o 'listening on [0-9.]*:[0-9]*' "$WORK/$name.out" | sed 's/.*://')
      return
    fi
    sleep 0.25  # the port may still be held for a moment after a kill
  done
  echo "pie-sim $name did not start:"; cat "$WORK/$name.err"; exit 1
}
for s in healthy dropping faulty; do start_server $s; done

cat >"$WORK/gw.yaml" <<YAML
listen: {http: "127.0.0.1:0", grpc: "127.0.0.1:0"}
logging: {level: warn}
jobs: {retention: 30s, max_finished_sync: 1000}
servers:
  - {name: healthy, uri: "ws://127.0.0.1:${PORT[healthy]}/", sessions: 2}
  - {name: dropping, uri: "ws://127.0.0.1:${PORT[dropping]}", protocol: "0.5", sessions: 2}
  - {name: faulty, uri: "ws://127.0.0.1:${PORT[faulty]}/", sessions: 2}
endpoints:
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"],
     timeout: 15s, idempotent: true}
  - {name: echo_rpc, kind: rpc, inferlet: std/echo@0.1.0, arguments: ["{*args}"], launch_input: {text: "{*args}"},
     timeout: 15s}
  - {name: complete, kind: get, inferlet: std/text-completion@0.1.0,
     params: [{name: prompt}, {name: max_tokens, type: int, default: "12"}],
     arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"], timeout: 15s}
  - {name: sleep, kind: get, inferlet: std/sleep@0.1.0, params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"],
     timeout: 15s}
  - {name: sleep_async, kind: get, async: true, suggested_wait: 100ms, inferlet: std/sleep@0.1.0,
     params: [{name: ms, type: int}], arguments: ["--ms", "{ms}"], timeout: 15s}
  - {name: chat, kind: session, inferlet: std/chat@0.1.0, timeout: 15s, session: {idle_timeout: 5s, max_open: 500}}
YAML
run_gateway
metric() {  # the sum of a metric's samples whose line starts with $1 (0 if none)
  curl -s --max-time 5 "http://127.0.0.1:$GW_PORT/metrics" | awk -v k="$1" 'index($0, k) == 1 {v += $NF} END {print v + 0}'
}
for _ in $(seq 1 200); do [ "$(metric pie_gateway_pie_sessions_open)" = 6 ] && break; sleep 0.05; done
fds() { ls "/proc/$GW_PID/fd" 2>/dev/null | wc -l; }
sleep 1
FDS_BEFORE=$(fds)
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$GW_PID/stat"; }  # utime + stime
CPU_BEFORE=$(cpu_s)

echo "soak: $MINUTES min at scale $SCALE (warm-up $WARMUP s), a server killed every $RESTART_EVERY s; gateway http :$GW_PORT grpc :$GRPC_PORT (pid $GW_PID)"
echo "pie-sim healthy :${PORT[healthy]} (${ARGS[healthy]}), dropping :${PORT[dropping]} (${ARGS[dropping]}), faulty :${PORT[faulty]} (${ARGS[faulty]})"
echo "idle before the load: RSS $(awk '/VmRSS/ {print $2}' /proc/$GW_PID/status) KiB, $FDS_BEFORE fds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
: >"$WORK/soak.jsonl"  # before tail follows it
"$BIN/pg-soak" --http "127.0.0.1:$GW_PORT" --grpc "127.0.0.1:$GRPC_PORT" --scale "$SCALE" \
  --duration "$DURATION" --timeout 60 --report-every 60 --sample-every 10 --watch-pid "$GW_PID" \
  >"$WORK/soak.jsonl" 2>"$WORK/soak.err" &
SOAK_PID=$!; PIDS+=($SOAK_PID)
tail -n +1 -f --pid "$SOAK_PID" "$WORK/soak.jsonl" | python3 -u bench/soak_report.py live &
PIDS+=($!)

# Kill and restart servers while the load runs (never in its last 30 s), alternating the two.
T0=$(date +%s)
KILLS=0
for k in $(seq 1 $(((DURATION - 30) / RESTART_EVERY))); do
  while [ $(($(date +%s) - T0)) -lt $((k * RESTART_EVERY)) ]; do kill -0 "$SOAK_PID" 2>/dev/null || break 2; sleep 1; done
  if [ $((k % 2)) = 1 ]; then victim=dropping; down=3; else victim=faulty; down=20; fi
  kill -9 "${PID[$victim]}" 2>/dev/null || true
  wait "${PID[$victim]}" 2>/dev/null || true
  sleep $down
  if [ $victim = faulty ]; then
    ARGS[faulty]=${FAULTY_MODES[$(((k / 2) % 2))]}
  fi
  start_server $victim
  KILLS=$((KILLS + 1))
  echo "  (t=$(($(date +%s) - T0)) s: $victim SIGKILLed, restarted after $down s with: ${ARGS[$victim]})" >&2
done
SOAK_STATUS=0
wait "$SOAK_PID" || SOAK_STATUS=$?
CPU_LOAD=$(python3 -c "print(f'{$(cpu_s 2>/dev/null || echo 0) - $CPU_BEFORE:.1f}')")
sleep 0.5  # the report's last lines

ALIVE=0; kill -0 "$GW_PID" 2>/dev/null && ALIVE=1
JOBS_AFTER=-1; CONV_AFTER=-1; FDS_AFTER=-1
if [ $ALIVE = 1 ]; then
  for _ in $(seq 1 60); do
    JOBS_AFTER=$(( $(metric 'pie_gateway_jobs{state="running"}') + $(metric 'pie_gateway_jobs{state="queued"}') ))
    CONV_AFTER=$(metric pie_gateway_conversations_open)
    [ "$JOBS_AFTER" = 0 ] && [ "$CONV_AFTER" = 0 ] && break
    sleep 0.5
  done
  for _ in $(seq 1 60); do FDS_AFTER=$(fds); [ "$FDS_AFTER" -le $((FDS_BEFORE + FD_SLACK)) ] && break; sleep 0.5; done
  echo
  echo "idle after the load: RSS $(awk '/VmRSS/ {print $2}' /proc/$GW_PID/status) KiB, $FDS_AFTER fds; $KILLS server kills; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "gateway CPU time during the load: $CPU_LOAD s over $DURATION s"
  curl -s --max-time 5 "http://127.0.0.1:$GW_PORT/gateway/servers" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["result"]:
    print("  %s: %s, launches %d, failures %d, reconnects %d" % (s["name"], s["state"], s["launches"], s["launch_failures"], s["reconnects"]))' || true
else
  echo "the gateway is gone:"; tail -20 "$WORK/gw.err"
fi
[ "$SOAK_STATUS" = 0 ] || { echo "pg-soak failed ($SOAK_STATUS):"; tail -20 "$WORK/soak.err"; }
if [ -s "$WORK/soak.err" ]; then echo "pg-soak notes (first 20):"; head -20 "$WORK/soak.err" | sed 's/^/  /'; fi
# Then SIGTERM: the gateway must exit 0 within its drain, without a sanitizer report (ASan builds).
STOPPED=-1
if [ $ALIVE = 1 ]; then
  kill -TERM "$GW_PID"
  for _ in $(seq 1 300); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
  if ! kill -0 "$GW_PID" 2>/dev/null; then STOPPED=0; wait "$GW_PID" || STOPPED=$?; fi
fi
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/gw.err"; then
  echo "sanitizer report from the gateway:"; grep -m1 -A15 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/gw.err"
  STOPPED=sanitizer
fi
python3 bench/soak_report.py verdict "$WORK/soak.jsonl" warmup_s="$WARMUP" rss_slope_max_kib_min="$RSS_SLOPE_MAX" \
  rss_growth_max_kib="$RSS_GROWTH_MAX" fd_slack="$FD_SLACK" fds_before="$FDS_BEFORE" fds_after="$FDS_AFTER" \
  jobs_after="$JOBS_AFTER" conversations_after="$CONV_AFTER" alive="$ALIVE" stopped="$STOPPED" && [ "$SOAK_STATUS" = 0 ]
exit
}
