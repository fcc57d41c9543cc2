#!/usr/bin/env bash
# Where a PlaceOrder call's CPU goes between the gateway's threads, and what its garbage costs
# (issue 25). Starts the built gateway (dist/) pinned to CPU 0 with --trace-gc-nvp, warms it up with
# the load generator of ../shared/bench on CPU 1 (closed loop), then measures one window and prints,
# per answered call:
#   - CPU by thread (/proc/<pid>/task/*/stat: the main thread, V8's helper thread, which does the
#     parallel part of scavenges and concurrent marking, and libuv's workers, which write the
#     audit log and the access log);
#   - scavenges: main-thread pause, bytes promoted to the old generation, bytes that survived;
#   - full GCs in the window and their main-thread pause.
# A CPU profile (--cpu-prof) cannot show the helper thread's share, and charges time the main thread
# spends preempted on the pinned core to whatever it was running; this can.
#
#   bench/gc-split.sh [--seconds 5] [--warmup 4] [--port 61580] [--rate R] [--dist DIR] [--subscriber] [-- ENV=VALUE...]
#
# --rate R runs warm-up and window in open loop at R calls/s instead of closed loop: issue 25's
# "server CPU per call at 1,000/s".
#
# ENV=VALUE pairs after -- go to the gateway (e.g. CALL_BATCHING=off, ORDER_EVENT_RETAIN=0);
# NODE_FLAGS adds node flags (e.g. NODE_FLAGS=--single-threaded-gc). --subscriber attaches one
# StreamOrderEvents subscriber (bench/event-subscriber.ts) on CPU 1. Needs ../shared/bench/setup.sh,
# `npm run build` and two CPUs. Like every figure on this machine, compare runs alternated in one
# sitting, not across sittings.
set -euo pipefail
usage="usage: bench/gc-split.sh [--seconds N] [--warmup N] [--port P] [--rate R] [--dist DIR] [--subscriber] [-- ENV=VALUE...]"
seconds=5 warmup=4 port=61580 rate=0
source "$(dirname "$0")/gateway-under-load.sh" "$@"
start_gateway --trace-gc-nvp
taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -rate "$rate" -duration "${warmup}s" -warmup 0s >/dev/null

threads() { for t in /proc/"$server"/task/*; do echo "$(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done; }
threads >"$work/before"
gc0=$(grep -c "gc=" "$work/server.log" || true)
taskset -c 1 "$loadgen" -addr "127.0.0.1:$port" -rate "$rate" -duration "${seconds}s" -warmup 0s -server-pid "$server" >"$work/load.json"
threads >"$work/after"
grep "gc=" "$work/server.log" | tail -n +"$((gc0 + 1))" >"$work/gc.txt" || true

"$node" -e '
const fs = require("node:fs");
const [dir, ticks] = process.argv.slice(1);
const load = JSON.parse(fs.readFileSync(`${dir}/load.json`, "utf8"));
const calls = load.ok;
const usPerTick = 1e6 / Number(ticks);
const read = (f) => fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").map((l) => l.split(" "));
const byThread = new Map();
for (const [name, t] of read("before")) byThread.set(name, (byThread.get(name) ?? 0) - Number(t));
for (const [name, t] of read("after")) byThread.set(name, (byThread.get(name) ?? 0) + Number(t));
let s = 0, sPause = 0, promoted = 0, survived = 0, full = 0, fullPause = 0;
for (const line of fs.readFileSync(`${dir}/gc.txt`, "utf8").split("\n")) {
  const field = (k) => Number((line.match(new RegExp(` ${k}=([0-9.]+)`)) ?? [])[1] ?? 0);
  const kind = (line.match(/gc=(\S+)/) ?? [])[1];
  if (kind === undefined) continue;
  if (kind === "s") { s++; sPause += field("pause"); promoted += field("promoted"); survived += field("new_space_survived"); }
  else { full++; fullPause += field("pause"); }
}
const per = (x, digits = 1) => (x / calls).toFixed(digits);
console.log(`calls ${calls} (${Math.round(load.rps)}/s), server CPU ${load.server_cpu}`);
console.log("CPU per call by thread: " + [...byThread].filter(([, t]) => t > 0).map(([n, t]) => `${n} ${per(t * usPerTick)} us`).join(", "));
console.log(`scavenges ${s}: main-thread pause ${per(sPause * 1000)} us, promoted ${per(promoted, 0)} B, survived ${per(survived, 0)} B per call`);
console.log(`full GCs ${full}: main-thread pause ${per(fullPause * 1000)} us per call`);
' "$work" "$(getconf CLK_TCK)"
