#!/usr/bin/env bash
# The latency pie-gateway ADDS to a call, at a fixed request rate (open loop, bench/loadgen).
# Starts pie-sim and the gateway (4 Pie sessions) on ephemeral loopback ports, then in one run,
# one after the other at the same rate and duration:
#   direct:  pg-loadgen --mode pie  -> pie-sim (launch std/echo, wait for Completed; 4 sessions)
#   gateway: pg-loadgen --mode http -> GET /echo?text=hello (32 keep-alive connections) -> pie-sim
# twice (direct, gateway, direct, gateway), and prints p50/p99 of each and the added latency
# (gateway - direct) against the targets: 150 us at p50, 500 us at p99.
# Usage: bench/latency.sh [rate (default 5000)] [seconds (default 15)]
# Env: BUILD_DIR (default build), WARMUP (s, default 2), CONNECTIONS (default 32), SESSIONS (default 4).
# The tail (p99) is only comparable when nothing else runs on the machine: the load average
# before and after is printed so a disturbed run can be recognised.
# Builds nothing. Everything listens on 127.0.0.1 only and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-5000}
DURATION=${2:-15}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
SESSIONS=${SESSIONS:-4}
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
need_binaries pie-sim pie-gateway pg-loadgen
start_sim
start_gateway "logging: {level: warn}
servers:
  - {name: sim, uri: \"ws://127.0.0.1:$SIM_PORT/\", sessions: $SESSIONS}
endpoints:
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}"
curl -sf "http://127.0.0.1:$GW_PORT/echo?text=hello" >/dev/null || { echo "gateway does not answer"; cat "$WORK/gw.err"; exit 1; }

TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a process, in clock ticks

COMMON=(--rate "$RATE" --duration "$DURATION" --warmup "$WARMUP")
run() {  # name args... -> the JSON line (plus CPU used by pie-sim and the gateway) into $WORK/name.json
  local name=$1; shift
  local s0 g0; s0=$(cpu_ticks "$SIM_PID"); g0=$(cpu_ticks "$GW_PID")
  "$BIN/pg-loadgen" "$@" "${COMMON[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    echo "pg-loadgen failed ($name):"; cat "$WORK/$name.err"; exit 1; }
  local s1 g1; s1=$(cpu_ticks "$SIM_PID"); g1=$(cpu_ticks "$GW_PID")
  grep '^{' "$WORK/$name.out" | python3 -c "import json,sys; j=json.load(sys.stdin); j['sim_cpu_s']=($s1-$s0)/$TICK; j['gw_cpu_s']=($g1-$g0)/$TICK; print(json.dumps(j))" >"$WORK/$name.json"
  sed -n '2p' "$WORK/$name.out"
}

echo "rate $RATE/s, $DURATION s measured after $WARMUP s warm-up; pie-sim :$SIM_PORT, gateway :$GW_PORT ($SESSIONS Pie sessions, $CONNECTIONS HTTP connections)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2; do
  run "direct$i" --mode pie --pie "127.0.0.1:$SIM_PORT" --sessions "$SESSIONS" --inferlet std/echo@0.1.0 --arg hello
  run "gateway$i" --mode http --url "http://127.0.0.1:$GW_PORT/echo?text=hello" --connections "$CONNECTIONS"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
T50, T99 = 150.0, 500.0
def load(n): return json.load(open(f"{w}/{n}.json"))
def us(v): return f"{v:,.0f} µs"
print()
print("| run | direct p50 | direct p99 | gateway p50 | gateway p99 | added p50 (≤150) | added p99 (≤500) | errors d/g | late g | achieved d/g |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for i in (1, 2):
    d, g = load(f"direct{i}"), load(f"gateway{i}")
    a50, a99 = g["p50_us"] - d["p50_us"], g["p99_us"] - d["p99_us"]
    ok50 = "ok" if a50 <= T50 else "MISS"
    ok99 = "ok" if a99 <= T99 else "MISS"
    print(f"| {i} | {us(d['p50_us'])} | {us(d['p99_us'])} | {us(g['p50_us'])} | {us(g['p99_us'])} "
          f"| {us(a50)} {ok50} | {us(a99)} {ok99} | {d['errors']}/{g['errors']} | {g['late']} "
          f"| {d['achieved_rate']:,.0f}/{g['achieved_rate']:,.0f} |")
print()
print("CPU per call (whole run incl. warm-up; clock-tick resolution):")
for i in (1, 2):
    d, g = load(f"direct{i}"), load(f"gateway{i}")
    calls = lambda j: j["rate"] * (j["duration_s"] + j["warmup_s"])
    print(f"  run {i}: direct: pie-sim {d['sim_cpu_s'] / calls(d) * 1e6:.1f} µs | "
          f"gateway: gateway {g['gw_cpu_s'] / calls(g) * 1e6:.1f} µs + pie-sim {g['sim_cpu_s'] / calls(g) * 1e6:.1f} µs")
PY
