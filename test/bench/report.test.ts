/**
 * `npm run bench`'s table (bench/report.ts) against the grpc-js peer: each protocol's ratio to the
 * peer's run of the same round and rate, as ../shared/bench/compare.sh computes it (closed loop
 * rps, open loop p99), per round and the median.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PEER, renderTable, type RunResult } from "../../bench/report.js";

function run(protocol: string, round: number, rate: number, rps: number, p99Ms: number): RunResult {
  return { protocol, round, mode: rate === 0 ? "closed" : "open", target_rate: rate, rps, ok: rps * 10, p50_us: 1000, p90_us: 2000, p99_us: p99Ms * 1000, p999_us: 9000, max_us: 10_000, loadgen_cpu: 0.3, server_cpu: 0.99 };
}

test("each protocol against the grpc-js peer of the same round and rate: rps closed loop, p99 open loop", () => {
  const results = [
    run(PEER, 1, 0, 10_000, 20),
    run("grpc", 1, 0, 6_000, 10),
    run("connect", 1, 0, 5_000, 12),
    run(PEER, 1, 1000, 1000, 4),
    run("grpc", 1, 1000, 1000, 2),
    run("connect", 1, 1000, 1000, 3),
    // Round 2 in the other order, as the benchmark runs it.
    run("connect", 2, 0, 6_000, 12),
    run("grpc", 2, 0, 6_600, 10),
    run(PEER, 2, 0, 12_000, 20),
    run("connect", 2, 1000, 1000, 6),
    run("grpc", 2, 1000, 1000, 5),
    run(PEER, 2, 1000, 1000, 5),
  ];
  const out = renderTable(results);
  assert.match(out, /\| protocol \| loop \| offered\/s \| rps \| ÷ gRPC \| ÷ grpc-js \| p50 ms \|/);
  assert.match(out, /\| r1 grpc-js \(peer\) \| closed \| max \| 10,000 \| {2}\| 1\.00 \|/);
  assert.match(out, /\| r2 grpc \| closed \| max \| 6,600 \| 1\.00 \| 0\.55 \|/);
  assert.match(out, /\| r1 grpc \| open \| 1000 \| 1,000 \| {2}\| 0\.50 \|/);
  assert.match(out, /^grpc ÷ grpc-js per round, closed loop, rps \(higher is better\): 0\.60, 0\.55 \(median 0\.55\)$/m);
  assert.match(out, /^connect ÷ grpc-js per round, closed loop, rps \(higher is better\): 0\.50, 0\.50 \(median 0\.50\)$/m);
  assert.match(out, /^grpc ÷ grpc-js per round, open loop 1000\/s, p99 \(lower is better\): 0\.50, 1\.00 \(median 0\.50\)$/m);
  assert.match(out, /^connect ÷ grpc-js per round, open loop 1000\/s, p99 \(lower is better\): 0\.75, 1\.20 \(median 0\.75\)$/m);
  // The peer is not a protocol of the gateway: no "÷ gRPC" line of its own.
  assert.doesNotMatch(out, /^grpc-js ÷/m);
  assert.match(out, /^connect ÷ gRPC per round: rps 0\.83, 0\.91/m);
});

test("without a peer run the table has no grpc-js column", () => {
  const out = renderTable([run("grpc", 1, 0, 6_000, 10), run("connect", 1, 0, 5_000, 12)]);
  assert.doesNotMatch(out, /grpc-js/);
});
