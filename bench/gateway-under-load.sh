# Sourced (not run) by bench/gc-split.sh and bench/soak.sh: their shared options, and the built
# gateway started the way both measure it (pinned to CPU 0, the fixed paper market, the benchmark's
# risk limits, no rate limit, buffered audit in a temp dir), with the load generator of
# ../shared/bench and, with --subscriber, one StreamOrderEvents subscriber on CPU 1.
#
# The sourcing script sets `usage`, `seconds`, `port` (and `warmup`, `rate` if it takes --warmup, --rate) first, then
# `source "$(dirname "$0")/gateway-under-load.sh" "$@"`. Afterwards: here, dist, envs, loadgen, node,
# work (a temp dir, removed on exit), and start_gateway [NODE FLAG...], which starts the gateway
# (its output in $work/server.log), waits for its answer, attaches the subscriber if asked, and
# sets `server` (and `sub`).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dist="$here/dist" subscriber=0 envs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift ;;
    --warmup) [ -n "${warmup+set}" ] || { echo "$usage" >&2; exit 2; }; warmup=$2; shift ;;
    --port) port=$2; shift ;;
    --rate) [ -n "${rate+set}" ] || { echo "$usage" >&2; exit 2; }; rate=$2; shift ;;
    --dist) dist=$(cd "$2" && pwd); shift ;;
    --subscriber) subscriber=1 ;;
    --) shift; envs=("$@"); break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
  shift
done
loadgen="$here/../shared/bench/.build/loadgen"
[ -x "$loadgen" ] || { echo "$(basename "$0"): $loadgen missing: run ../shared/bench/setup.sh" >&2; exit 1; }
node="$here/node_modules/.bin/node"
work=$(mktemp -d)
server="" sub=""
trap 'kill $server $sub 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$here"

start_gateway() {
  env PAPER_MARKET=fixed RISK_LIMITS_FILE=bench/risk-limits.yaml RATE_LIMIT_RPS=100000000 RATE_LIMIT_BURST=100000000 \
    METRICS_PORT=0 PORT="$port" AUDIT_FILE="$work/audit.jsonl" AUDIT_MODE=buffered "${envs[@]}" \
    taskset -c 0 "$node" --max-semi-space-size=8 --v8-pool-size=1 --use-largepages=silent ${NODE_FLAGS:-} "$@" "$dist/src/main.js" >"$work/server.log" 2>&1 &
  server=$!
  local ready=0
  for _ in $(seq 200); do
    "$loadgen" -probe -addr "127.0.0.1:$port" >/dev/null 2>&1 && { ready=1; break; }
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  [ "$ready" = 1 ] || { echo "$(basename "$0"): the gateway did not answer on port $port:" >&2; tail -5 "$work/server.log" >&2; exit 1; }
  if [ "$subscriber" = 1 ]; then
    PORT=$port taskset -c 1 "$node" --import tsx bench/event-subscriber.ts 2>"$work/sub.log" &
    sub=$!
  fi
}
