#!/usr/bin/env bash
# gRPC beside HTTP through the same gateway, in one run (closed loop, bench/grpc_bench):
#   unary:  GET /echo?text=hello               vs  Call(echo, text=hello)
#   stream: GET /complete?prompt=..&max_tokens vs  CallStream(complete, ...) (every token an event)
# Each at CONCURRENCY calls in flight for SECONDS after a warm-up; prints calls/s, p50 and p99.
# Starts pie-sim and the gateway (4 Pie sessions) on ephemeral loopback ports.
# Usage: bench/grpc_vs_http.sh [seconds (default 10)]
# Env: BUILD_DIR (default build), CONCURRENCY (default 16), TOKENS (default 16), WARMUP (s, default 2).
# Builds nothing. Everything listens on 127.0.0.1 only and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONCURRENCY=${CONCURRENCY:-16}
TOKENS=${TOKENS:-16}
WARMUP=${WARMUP:-2}
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
need_binaries pie-sim pie-gateway pg-grpc-bench
start_sim

cat >"$WORK/gw.yaml" <<YAML
listen: {http: "127.0.0.1:0", grpc: "127.0.0.1:0"}
logging: {level: warn}
servers:
  - {name: sim, uri: "ws://127.0.0.1:$SIM_PORT/", sessions: 4}
endpoints:
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: ["{text}"]}
  - name: complete
    kind: get
    inferlet: std/text-completion@0.1.0
    params: [{name: prompt}, {name: max_tokens, type: int, default: "16"}]
    arguments: ["--prompt", "{prompt}", "--max-tokens", "{max_tokens}"]
YAML
run_gateway

COMMON=(--concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP")
run() {  # name args... -> $WORK/name.json
  local name=$1; shift
  "$BIN/pg-grpc-bench" "$@" "${COMMON[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    echo "pg-grpc-bench failed ($name):"; cat "$WORK/$name.err" "$WORK/$name.out"; exit 1; }
  grep '^{' "$WORK/$name.out" >"$WORK/$name.json"
  echo "  $name: $(sed -n '2p' "$WORK/$name.out")"
}

echo "gateway http :$GW_PORT grpc :$GRPC_PORT, pie-sim :$SIM_PORT; $CONCURRENCY calls in flight, $DURATION s after $WARMUP s warm-up"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run http_echo --mode http --target "127.0.0.1:$GW_PORT" --path "/echo?text=hello"
run grpc_echo --mode grpc-call --target "127.0.0.1:$GRPC_PORT" --endpoint echo --kw text=hello
run http_complete --mode http --target "127.0.0.1:$GW_PORT" --path "/complete?prompt=Once+upon+a+time&max_tokens=$TOKENS"
run grpc_stream --mode grpc-stream --target "127.0.0.1:$GRPC_PORT" --endpoint complete \
    --kw "prompt=Once upon a time" --kw "max_tokens=$TOKENS"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK" "$TOKENS" <<'PY'
import json, sys
w, tokens = sys.argv[1], sys.argv[2]
def load(n): return json.load(open(f"{w}/{n}.json"))
print()
print("| work | API | calls/s | p50 | p99 | errors |")
print("| --- | --- | --- | --- | --- | --- |")
for work, runs in ((f"echo (unary)", ("http_echo", "grpc_echo")),
                   (f"text-completion, {tokens} tokens", ("http_complete", "grpc_stream"))):
    for n in runs:
        j = load(n)
        api = {"http": "HTTP GET", "grpc-call": "gRPC Call", "grpc-stream": "gRPC CallStream"}[j["mode"]]
        print(f"| {work} | {api} | {j['calls_per_s']:,.0f} | {j['p50_us']:,.0f} µs | {j['p99_us']:,.0f} µs | {j['errors']} |")
PY
