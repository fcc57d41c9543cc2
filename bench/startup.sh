#!/usr/bin/env bash
# How long a restart takes with a busy audit log, and what it leaves in memory: fills a JSONL audit
# log by running the built gateway (dist/) under the load generator of ../shared/bench for
# --load-seconds (closed loop, market orders), then starts the gateway on that log --restarts times
# and prints, for each, the seconds until it answers PlaceOrder (start-up replays the whole log:
# idempotency keys, retained orders, positions, the ListOrders index) and its RSS then. Each start
# is pinned to CPU 0, as in the benchmarks.
#
#   bench/startup.sh [--load-seconds 40] [--restarts 2] [--dist DIR] [--keep-log DIR]
#
# --dist may be given twice or more: the restarts then alternate between the builds, on the same
# log. --keep-log DIR writes the log there and leaves it (else a temp dir, removed on exit). Needs
# ../shared/bench/setup.sh and `npm run build`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
load_seconds=40 restarts=2 dists=() keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --load-seconds) load_seconds=$2; shift ;;
    --restarts) restarts=$2; shift ;;
    --dist) dists+=("$(cd "$2" && pwd)"); shift ;;
    --keep-log) keep=$2; shift ;;
    *) echo "usage: bench/startup.sh [--load-seconds N] [--restarts N] [--dist DIR]... [--keep-log DIR]" >&2; exit 2 ;;
  esac
  shift
done
[ ${#dists[@]} -gt 0 ] || dists=("$here/dist")
loadgen="$here/../shared/bench/.build/loadgen"
[ -x "$loadgen" ] || { echo "startup.sh: $loadgen missing: run ../shared/bench/setup.sh" >&2; exit 1; }
node="$here/node_modules/.bin/node"
port=61810
if [ -n "$keep" ]; then mkdir -p "$keep"; work=$(cd "$keep" && pwd); else work=$(mktemp -d); fi
server=""
trap 'kill $server 2>/dev/null || true; [ -n "$keep" ] || rm -rf "$work"' EXIT
cd "$here"

# start DIST: starts the gateway on the log; sets `server` and `took_ms` (until it answers).
start() {
  local t0 t1
  if "$loadgen" -probe -addr "127.0.0.1:$port" >/dev/null 2>&1; then echo "startup.sh: something already answers on port $port" >&2; exit 1; fi
  t0=$(date +%s%N)
  env PAPER_MARKET=fixed RISK_LIMITS_FILE=bench/risk-limits.yaml RATE_LIMIT_RPS=100000000 RATE_LIMIT_BURST=100000000 \
    METRICS_PORT=0 PORT="$port" AUDIT_FILE="$work/audit.jsonl" AUDIT_MODE=buffered \
    taskset -c 0 "$node" --max-semi-space-size=8 --v8-pool-size=1 --use-largepages=silent "$1/src/main.js" >"$work/server.log" 2>&1 &
  server=$!
  # A short deadline per probe: the probe waits for a server that is not listening yet, so a long one
  # would round the start-up time up to its multiple.
  until timeout 0.5 "$loadgen" -probe -addr "127.0.0.1:$port" >/dev/null 2>&1; do
    kill -0 "$server" 2>/dev/null || { echo "startup.sh: the gateway exited:" >&2; tail -5 "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  t1=$(date +%s%N)
  took_ms=$(( (t1 - t0) / 1000000 ))
}
stop() {
  kill "$server"
  wait "$server" || true
  server=""
}

if [ ! -s "$work/audit.jsonl" ]; then
  start "${dists[0]}"
  taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -duration "${load_seconds}s" -warmup 0s >"$work/load.json"
  stop
fi
lines=$(wc -l <"$work/audit.jsonl")
bytes=$(stat -c %s "$work/audit.jsonl")
echo "audit log: $lines lines, $(( bytes / 1048576 )) MB"
for r in $(seq "$restarts"); do
  for d in "${dists[@]}"; do
    start "$d"
    rss=$(awk '/^VmRSS/ {print $2}' /proc/"$server"/status)
    echo "restart $r, $d: answering after $(echo "scale=1; $took_ms / 1000" | bc) s, RSS $(( rss / 1024 )) MB"
    stop
  done
done
