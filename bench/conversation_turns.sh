#!/usr/bin/env bash
# What a conversation turn costs against a one-shot call that does the same work without one.
# Starts pie-sim and the gateway on ephemeral loopback ports, then, in one run, alternating:
#   turn:     POST /chat/send on one open session (std/chat answers "echo: <text>")
#   one-shot: POST /chat_once with the text as body (launch std/chat, send the text, collect the
#             reply, say "bye": what a client does without conversations)
# each N times over one keep-alive connection, twice, and prints p50/p99 and the ratio
# one-shot / turn. pie-sim answers at once, so this is the gateway's own cost (plus the sim's).
# Usage: bench/conversation_turns.sh [N (default 2000)]
# Env: BUILD_DIR (default build). Builds nothing; everything listens on 127.0.0.1 and stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
BIN=${BUILD_DIR:-build}/bin
source bench/common.sh
need_binaries pie-sim pie-gateway
start_sim
start_gateway "logging: {level: warn}
servers:
  - {name: sim, uri: \"ws://127.0.0.1:$SIM_PORT/\", sessions: 2}
endpoints:
  - {name: chat, kind: session, inferlet: std/chat@0.1.0}
  - {name: chat_once, kind: post, inferlet: std/chat@0.1.0, result: messages, params: [{name: end, default: bye}],
     input: [{send: message, from: body}, {send: message, from: 'param:end'}]}"
echo "N=$N per kind and round; pie-sim :$SIM_PORT, gateway :$GW_PORT; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$GW_PORT" "$N" <<'PY'
import sys, time
import requests
port, n = int(sys.argv[1]), int(sys.argv[2])
base = f"http://127.0.0.1:{port}"
s = requests.Session()
def pct(xs, p): xs = sorted(xs); return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]
def turns(h):
    out = []
    for i in range(n):
        t = time.perf_counter()
        r = s.post(base + "/chat/send", json={"session": h, "message": f"m{i}"})
        out.append(time.perf_counter() - t)
        assert r.status_code == 200 and r.json()["result"]["reply"] == f"echo: m{i}", r.text
    return out
def one_shots():
    out = []
    for i in range(n):
        t = time.perf_counter()
        r = s.post(base + "/chat_once", data=f"m{i}", headers={"Content-Type": "text/plain"})
        out.append(time.perf_counter() - t)
        assert r.status_code == 200 and r.json()["result"] == [f"echo: m{i}"], r.text
    return out
h = s.post(base + "/chat/open", json={}).json()["result"]["session"]
res = {"turn": [], "one-shot": []}
for _ in range(2):
    res["turn"] += turns(h)
    res["one-shot"] += one_shots()
s.post(base + "/chat/close", json={"session": h})
for k, v in res.items():
    print(f"{k:9s} p50 {pct(v, 50) * 1e6:8.0f} µs   p99 {pct(v, 99) * 1e6:8.0f} µs   ({len(v)} calls)")
print(f"one-shot / turn at p50: {pct(res['one-shot'], 50) / pct(res['turn'], 50):.2f}x")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
