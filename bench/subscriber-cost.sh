#!/usr/bin/env bash
# What one StreamOrderEvents subscriber costs the gateway per PlaceOrder (issue 20), measured inside
# ONE gateway process: the server's CPU per answered call in windows without and with a subscriber,
# alternated (ABBA) many times. Separate runs (compare.sh, gc-split.sh) compare two processes,
# whose JIT and memory layout differ, minutes apart on a machine that drifts 20-40 %; here both
# sides share the process and each pair is seconds apart, so the drift mostly cancels in the ratio.
#
# Starts the built gateway (dist/) as gc-split.sh does (CPU 0, closed loop from the load generator
# of ../shared/bench on CPU 1), warms it up, then for each pair runs one window without and one
# with bench/event-subscriber.ts attached (on CPU 1; attached and left to catch up before its
# window, stopped after it). Prints, per pair, the server's CPU per call (every thread, from
# /proc/<pid>/stat) in each window and their ratio, then the median ratio.
#
#   bench/subscriber-cost.sh [--pairs 8] [--seconds 3] [--warmup 4] [--port 61600] [--dist DIR] [-- ENV=VALUE...]
#
# Needs ../shared/bench/setup.sh, `npm run build` and two CPUs.
set -euo pipefail
usage="usage: bench/subscriber-cost.sh [--pairs N] [--seconds N] [--warmup N] [--port P] [--dist DIR] [-- ENV=VALUE...]"
pairs=8
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --) args+=("$@"); break ;;
    *) args+=("$1"); shift ;;
  esac
done
seconds=3 warmup=4 port=61600
source "$(dirname "$0")/gateway-under-load.sh" "${args[@]}"
[ "$subscriber" = 0 ] || { echo "$usage (the subscriber is attached and stopped by this script)" >&2; exit 2; }
start_gateway
taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -duration "${warmup}s" -warmup 0s >/dev/null

cpu_ticks() { awk '{print $14 + $15}' /proc/"$server"/stat; }
# One measured window: "<server CPU ticks> <calls answered>".
window() {
  local before after
  before=$(cpu_ticks)
  taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -duration "${seconds}s" -warmup 0s >"$work/load.json"
  after=$(cpu_ticks)
  echo "$((after - before)) $("$node" -p 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).ok' "$work/load.json")"
}
# How many subscribers have started streaming so far (each prints one "streaming" line).
streams() { grep -c "streaming" "$work/sub.log" 2>/dev/null || true; }
attach() {
  FROM=live PORT=$port taskset -c 1 "$node" --import tsx bench/event-subscriber.ts 2>>"$work/sub.log" &
  sub=$!
  local n
  n=$(streams)
  for _ in $(seq 300); do
    [ "$(streams)" -gt "$n" ] && break
    kill -0 "$sub" 2>/dev/null || { echo "subscriber-cost.sh: the subscriber exited:" >&2; cat "$work/sub.log" >&2; exit 1; }
    sleep 0.05
  done
  [ "$(streams)" -gt "$n" ] || { echo "subscriber-cost.sh: the subscriber did not start streaming" >&2; exit 1; }
  # Its catch-up of the ring happens in this settling window, which is not measured.
  taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -duration 1s -warmup 0s >/dev/null
}
detach() {
  kill "$sub" 2>/dev/null || true
  wait "$sub" 2>/dev/null || true
  sub=""
}

: >"$work/pairs"
for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) = 1 ]; then
    without=$(window)
    attach; with=$(window); detach
  else
    attach; with=$(window); detach
    without=$(window)
  fi
  echo "$without $with" >>"$work/pairs"
done
grep -q "events read" "$work/sub.log" || { echo "subscriber-cost.sh: the subscriber read nothing:" >&2; cat "$work/sub.log" >&2; exit 1; }

"$node" -e '
const fs = require("node:fs");
const [file, ticks, subLog] = process.argv.slice(1);
const usPerTick = 1e6 / Number(ticks);
const rows = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
console.log("pair  without: us/call (calls)  with: us/call (calls)  with / without");
const ratios = [];
rows.forEach(([t0, c0, t1, c1], i) => {
  const a = (t0 * usPerTick) / c0, b = (t1 * usPerTick) / c1;
  ratios.push(b / a);
  console.log(`${String(i + 1).padStart(4)}  ${a.toFixed(1).padStart(8)} (${c0})  ${b.toFixed(1).padStart(8)} (${c1})  ${(b / a).toFixed(3)}`);
});
const s = [...ratios].sort((x, y) => x - y);
const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
console.log(`median with / without: ${median.toFixed(3)} (min ${s[0].toFixed(3)}, max ${s[s.length - 1].toFixed(3)})`);
const read = fs.readFileSync(subLog, "utf8").match(/\d+ events read/g) ?? [];
console.log(`subscriber: ${read.join(", ")}`);
' "$work/pairs" "$(getconf CLK_TCK)" "$work/sub.log"
