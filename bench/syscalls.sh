#!/usr/bin/env bash
# System calls per PlaceOrder at a fixed rate, the gateway against the grpc-js peer of
# ../shared/bench (issue 25: server CPU per call at 1,000/s). Starts one server pinned to CPU 0
# (the built gateway as bench/gateway-under-load.sh starts it, or the peer with a buffered audit),
# warms it up for 3 s with the load generator on CPU 1 in open loop, then counts its system calls
# with `strace -c -f` (every thread) for 5 s of a 7 s run and prints each call's count per PlaceOrder.
# strace slows the server down; the counts, not the times, are the figure.
#
#   bench/syscalls.sh gateway|peer [--rate 1000] [--port 61700]
#
# Needs strace, ../shared/bench/setup.sh and `npm run build`.
set -euo pipefail
usage="usage: bench/syscalls.sh gateway|peer [--rate R] [--port P]"
which=${1:-}; shift || true
rate=1000 port=61700
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift ;;
    --port) port=$2; shift ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
case "$which" in gateway|peer) ;; *) echo "$usage" >&2; exit 2 ;; esac
command -v strace >/dev/null || { echo "bench/syscalls.sh: strace missing (apt-get install strace)" >&2; exit 1; }
here=$(cd "$(dirname "$0")/.." && pwd)
loadgen="$here/../shared/bench/.build/loadgen"
[ -x "$loadgen" ] || { echo "bench/syscalls.sh: $loadgen missing: run ../shared/bench/setup.sh" >&2; exit 1; }
node="$here/node_modules/.bin/node"
work=$(mktemp -d)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$here"
if [ "$which" = peer ]; then
  taskset -c 0 "$node" ../shared/bench/peer-grpc-js/server.js -addr "127.0.0.1:$port" -audit buffered -audit-file "$work/audit.jsonl" >"$work/server.log" 2>&1 &
else
  env PAPER_MARKET=fixed RISK_LIMITS_FILE=bench/risk-limits.yaml RATE_LIMIT_RPS=100000000 RATE_LIMIT_BURST=100000000 \
    METRICS_PORT=0 PORT="$port" AUDIT_FILE="$work/audit.jsonl" AUDIT_MODE=buffered \
    taskset -c 0 "$node" --max-semi-space-size=8 --v8-pool-size=1 --use-largepages=silent dist/src/main.js >"$work/server.log" 2>&1 &
fi
server=$!
for _ in $(seq 100); do "$loadgen" -probe -addr "127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 0.1; done
taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -rate "$rate" -duration 3s -warmup 0s >/dev/null
taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -rate "$rate" -duration 7s -warmup 0s >/dev/null &
load=$!
sleep 1
timeout -s INT 5 strace -c -f -p "$server" -o "$work/strace.txt" >/dev/null 2>&1 || true
wait "$load"
echo "$which at $rate/s: system calls per PlaceOrder (strace -c -f, 5 s)"
# strace -c's table: % time, seconds, usecs/call, calls, [errors,] syscall; the total line last.
awk -v calls=$((rate * 5)) '
  /^-/ || /^% time/ || NF < 5 { next }
  $NF == "total" { next }
  { n = $4; sum += n; printf "  %-16s %6.2f\n", $NF, n / calls }
  END { printf "  %-16s %6.2f\n", "all", sum / calls }' "$work/strace.txt" | sort -k2 -nr
