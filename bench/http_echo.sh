#!/usr/bin/env bash
# GET /echo through pie-gateway (-> pie-sim over WebSocket), once with a Pie 0.2 server behind it
# and once with a Pie 0.5 one (pie-sim --protocol 0.5), beside a trivial HTTP target (nginx
# `return 200`) on the same machine, in one run, with wrk at a few concurrency levels. Prints
# requests/s and latency percentiles for each, and the ratios gateway/nginx and 0.5/0.2.
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
gateway_on() {  # protocol -> GW_PORT of a gateway in front of a fresh pie-sim of that protocol line
  start_sim --protocol "$1"
  start_gateway "logging: {level: warn}
servers:
  - {name: sim, uri: \"ws://127.0.0.1:$SIM_PORT/\", protocol: \"$1\", sessions: ${SESSIONS:-4}}
endpoints:
  - {name: echo, kind: get, inferlet: std/echo@0.1.0, params: [{name: text}], arguments: [\"{text}\"]}"
}
gateway_on 0.2; GW02_PORT=$GW_PORT
gateway_on 0.5; GW05_PORT=$GW_PORT

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
for p in $GW02_PORT $GW05_PORT; do
  curl -sf "http://127.0.0.1:$p/echo?text=hello" >/dev/null || { echo "gateway on $p does not answer"; cat "$WORK/gw.err"; exit 1; }
done

run_wrk() {  # url conns -> "rps p50 p99"
  wrk -t1 -c"$2" -d"${DURATION}s" --latency "$1" 2>/dev/null | awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    / Non-2xx/ {bad=$NF}
    END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}'
}

printf "%-6s | %-30s | %-30s | %-30s | %s\n" "conns" "gateway+0.2 /echo (rps p50 p99)" "gateway+0.5 /echo (rps p50 p99)" \
  "nginx return 200 (rps p50 p99)" "0.2/nginx 0.5/nginx 0.5/0.2"
for c in $CONNS; do
  read -r a_rps a_p50 a_p99 a_bad < <(run_wrk "http://127.0.0.1:$GW02_PORT/echo?text=hello" "$c")
  read -r b_rps b_p50 b_p99 b_bad < <(run_wrk "http://127.0.0.1:$GW05_PORT/echo?text=hello" "$c")
  read -r n_rps n_p50 n_p99 _ < <(run_wrk "http://127.0.0.1:$NGINX_PORT/" "$c")
  ratios=$(python3 -c "a,b,n=float('$a_rps'),float('$b_rps'),float('$n_rps'); print(f'{a/n:.2f} {b/n:.2f} {b/a:.2f}')")
  bad=""; [ "$a_bad" != 0 ] && bad="$bad 0.2-non-2xx:$a_bad"; [ "$b_bad" != 0 ] && bad="$bad 0.5-non-2xx:$b_bad"
  printf "%-6s | %9s %9s %9s | %9s %9s %9s | %9s %9s %9s | %s%s\n" "$c" "$a_rps" "$a_p50" "$a_p99" \
    "$b_rps" "$b_p50" "$b_p99" "$n_rps" "$n_p50" "$n_p99" "$ratios" "$bad"
done
