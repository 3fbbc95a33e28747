#!/usr/bin/env bash
# GET /echo through pie-gateway (-> pie-sim over WebSocket) beside a trivial HTTP target
# (nginx `return 200`) on the same machine, in one run, with wrk at a few concurrency levels.
# Prints requests/s and latency percentiles for both, and the gateway/nginx ratio.
# Usage: bench/http_echo.sh [seconds per run (default 10)] [connection counts (default "8 32 128")]
# Everything listens on 127.0.0.1 only and stops when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-"8 32 128"}
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
for tool in wrk nginx; do command -v $tool >/dev/null || { echo "missing $tool: run tools/install-deps.sh"; exit 1; }; done
need_binaries pie-sim pie-gateway
start_sim
start_gateway "logging: {level: warn}
servers:
  - {name: sim, uri: \"ws://127.0.0.1:$SIM_PORT/\", sessions: ${SESSIONS:-4}}
endpoints:
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}"

NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"status":"success","mimetype":"text/plain","result":"hello"}'; }
  }
}
NGX
nginx -c "$WORK/nginx.conf" & PIDS+=($!)
sleep 0.3
curl -sf "http://127.0.0.1:$GW_PORT/echo?text=hello" >/dev/null || { echo "gateway does not answer"; cat "$WORK/gw.err"; exit 1; }

run_wrk() {  # url conns -> "rps p50 p99"
  wrk -t1 -c"$2" -d"${DURATION}s" --latency "$1" 2>/dev/null | awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    / Non-2xx/ {bad=$NF}
    END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}

printf "%-6s | %-34s | %-34s | %s\n" "conns" "gateway /echo (rps, p50, p99)" "nginx return 200 (rps, p50, p99)" "gateway/nginx rps"
for c in $CONNS; do
  read -r g_rps g_p50 g_p99 g_bad < <(run_wrk "http://127.0.0.1:$GW_PORT/echo?text=hello" "$c")
  read -r n_rps n_p50 n_p99 _ < <(run_wrk "http://127.0.0.1:$NGINX_PORT/" "$c")
  ratio=$(python3 -c "print(f'{float(\"$g_rps\")/float(\"$n_rps\"):.2f}')")
  printf "%-6s | %10s %10s %10s %s | %10s %10s %10s | %s\n" "$c" "$g_rps" "$g_p50" "$g_p99" \
    "$([ "$g_bad" != 0 ] && echo "non-2xx:$g_bad" || echo "")" "$n_rps" "$n_p50" "$n_p99" "$ratio"
done
