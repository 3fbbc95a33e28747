# Shared by the bench/*.sh scripts (source it): a work dir cleaned up on exit, and pie-sim and
# pie-gateway started on ephemeral loopback ports. Expects BIN (the build's bin directory).
WORK=$(mktemp -d /tmp/pg-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM

need_binaries() {  # name... : every binary must exist in $BIN
  for b in "$@"; do
    [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: build first (tools/build.sh, or BUILD_DIR=...)"; exit 1; }
  done
}

port_of() {  # file: wait for "listening on HOST:PORT" in it and print PORT
  for _ in $(seq 1 200); do
    p=$(grep -o 'listening on [0-9.]*:[0-9]*' "$1" 2>/dev/null | head -1 | sed 's/.*://') && [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.05
  done
  echo "no port in $1" >&2; exit 1
}

start_sim() {  # [pie-sim args...] -> SIM_PORT, SIM_PID
  "$BIN/pie-sim" --port 0 "$@" >"$WORK/sim.out" 2>"$WORK/sim.err" &
  SIM_PID=$!; PIDS+=($SIM_PID)
  SIM_PORT=$(port_of "$WORK/sim.out")
}

start_gateway() {  # yaml text (without listen:) -> GW_PORT, GW_PID; waits until /readyz is 200
  printf 'listen: {http: "127.0.0.1:0"}\n%s\n' "$1" >"$WORK/gw.yaml"
  run_gateway
}

run_gateway() {  # pie-gateway on $WORK/gw.yaml -> GW_PORT, GW_PID, and GRPC_PORT when its listen: has grpc
  "$BIN/pie-gateway" --config "$WORK/gw.yaml" >"$WORK/gw.out" 2>"$WORK/gw.err" &
  GW_PID=$!; PIDS+=($GW_PID)
  GW_PORT=$(port_of "$WORK/gw.out")
  GRPC_PORT=""
  if grep -q '^listen:.*grpc' "$WORK/gw.yaml"; then
    for _ in $(seq 1 100); do
      GRPC_PORT=$(grep -o 'grpc listening on [0-9.]*:[0-9]*' "$WORK/gw.out" | sed 's/.*://') && [ -n "$GRPC_PORT" ] && break
      sleep 0.05
    done
    [ -n "$GRPC_PORT" ] || { echo "no gRPC port:"; cat "$WORK/gw.err"; exit 1; }
  fi
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$GW_PORT/readyz" >/dev/null && return; sleep 0.05; done
  echo "gateway not ready:"; cat "$WORK/gw.err"; exit 1
}
