#!/usr/bin/env bash
# Issue 25's memory and pause targets: "RSS flat over 60 s at saturation; no GC pause over 5 ms in the
# 60 s run (--trace-gc)". Starts the built gateway (dist/) pinned to CPU 0 with --trace-gc-nvp, runs
# the load generator of ../shared/bench on CPU 1 in closed loop (saturation) for the window, reads
# the gateway's RSS from /proc every 5 s, and prints:
#   - calls/s and p99 of the window;
#   - RSS at each 5 s mark, and its growth from 10 s to the end (the first seconds fill the rings);
#   - GC pauses of the window: how many of each kind, how many over 5 ms, the longest, and for the
#     longest full GC the phases that took over 1 ms (clear, sweep, evacuate...).
#
#   bench/soak.sh [--seconds 60] [--port 61590] [--dist DIR] [--subscriber] [-- ENV=VALUE...]
#
# ENV=VALUE pairs after -- go to the gateway (e.g. AUDIT_MODE=fsync); NODE_FLAGS adds node flags.
# --subscriber attaches one StreamOrderEvents subscriber (bench/event-subscriber.ts) on CPU 1. Needs
# ../shared/bench/setup.sh, `npm run build` and two CPUs. docs/performance.md ("60 s at saturation")
# has what it showed and why.
set -euo pipefail
usage="usage: bench/soak.sh [--seconds N] [--port P] [--dist DIR] [--subscriber] [-- ENV=VALUE...]"
seconds=60 port=61590
source "$(dirname "$0")/gateway-under-load.sh" "$@"
start_gateway --trace-gc-nvp
gc0=$(grep -c "gc=" "$work/server.log" || true)
taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -duration "${seconds}s" -warmup 0s >"$work/load.json" &
load=$!
for t in $(seq 0 5 "$seconds"); do
  echo "$t $(awk '/^VmRSS/ {print $2}' /proc/"$server"/status)" >>"$work/rss"
  [ "$t" -lt "$seconds" ] && sleep 5
done
wait "$load"
grep "gc=" "$work/server.log" | tail -n +"$((gc0 + 1))" >"$work/gc.txt" || true

"$node" -e '
const fs = require("node:fs");
const dir = process.argv[1];
const load = JSON.parse(fs.readFileSync(`${dir}/load.json`, "utf8"));
const rss = fs.readFileSync(`${dir}/rss`, "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
const mb = (kb) => (kb / 1024).toFixed(0);
console.log(`calls/s ${Math.round(load.rps)}, p99 ${(load.p99_us / 1000).toFixed(1)} ms, errors ${JSON.stringify(load.errors ?? {})}`);
console.log("RSS MB at " + rss.map(([t, kb]) => `${t}s ${mb(kb)}`).join(", "));
const at10 = rss.find(([t]) => t >= 10) ?? rss[0];
const last = rss[rss.length - 1];
if (last[0] > at10[0]) console.log(`RSS growth from ${at10[0]} s to ${last[0]} s: ${((last[1] - at10[1]) / 1024 / (last[0] - at10[0])).toFixed(2)} MB/s`);
const kinds = new Map();
let over = 0, longest;
for (const line of fs.readFileSync(`${dir}/gc.txt`, "utf8").split("\n")) {
  const kind = (line.match(/gc=(\S+)/) ?? [])[1];
  if (kind === undefined) continue;
  const pause = Number((line.match(/ pause=([0-9.]+)/) ?? [])[1] ?? 0);
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  if (pause > 5) over++;
  if (longest === undefined || pause > longest.pause) longest = { kind, pause, line };
}
console.log(`GCs ${[...kinds].map(([k, n]) => `${k === "s" ? "scavenge" : k === "mc" ? "mark-compact" : k} ${n}`).join(", ")}; pauses over 5 ms: ${over}`);
if (longest !== undefined) {
  const phases = [...longest.line.matchAll(/ ([a-z_.]+)=([0-9.]+)(?= )/g)]
    .filter(([, k, v]) => Number(v) > 1 && k !== "pause" && !/size|rate|throughput|ratio|count|capacity|limit|chunks|allocated|promoted|survived|mutator|time_to_safepoint|background|incremental|nodes/.test(k))
    .map(([, k, v]) => `${k} ${v}`);
  console.log(`longest pause: ${longest.pause} ms (${longest.kind === "s" ? "scavenge" : longest.kind === "mc" ? "mark-compact" : longest.kind})${phases.length > 0 ? "; phases over 1 ms: " + phases.join(", ") : ""}`);
}
' "$work"
