import { test } from "node:test";
import assert from "node:assert/strict";
import { Histogram, Registry } from "prom-client";
import { createCallHistogram } from "../../../src/adapters/metrics/call-histogram.js";

const NAME = "grpc_server_handling_seconds";
const HELP = "Latency, with a \\ backslash and a\nnewline to escape.";
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const labelNames = ["grpc_type", "grpc_service", "grpc_method"] as const;

/** prom-client's Histogram and ours on two registries, fed the same observations. */
function pair() {
  const refRegistry = new Registry();
  const ourRegistry = new Registry();
  const ref = new Histogram({ name: NAME, help: HELP, labelNames, buckets: BUCKETS, registers: [refRegistry] });
  const ours = createCallHistogram({ name: NAME, help: HELP, labelNames, buckets: BUCKETS, registers: [ourRegistry] });
  const both = (labels: Record<(typeof labelNames)[number], string>) => {
    const a = ref.labels(labels);
    const b = ours.labels(labels);
    return (v: number) => {
      a.observe(v);
      b.observe(v);
    };
  };
  const render = async () => ({ ref: await refRegistry.metrics(), ours: await ourRegistry.metrics() });
  const json = async () => ({ ref: await refRegistry.getMetricsAsJSON(), ours: await ourRegistry.getMetricsAsJSON() });
  return { ref, ours, refRegistry, ourRegistry, both, render, json };
}

test("call histogram: renders exactly what prom-client's Histogram renders for the same observations", async () => {
  const p = pair();
  const place = p.both({ grpc_type: "unary", grpc_service: "trading.v1.TradingGateway", grpc_method: "PlaceOrder" });
  // Same label set, keys in another order: the same series, as in prom-client.
  const placeAgain = p.both({ grpc_method: "PlaceOrder", grpc_service: "trading.v1.TradingGateway", grpc_type: "unary" });
  const stream = p.both({ grpc_type: "server_stream", grpc_service: "trading.v1.TradingGateway", grpc_method: "Stream\"Fills\\" });
  // Values on every bound (le is inclusive), between bounds, below the first, above the last, and zero.
  const values = [0, 0.00005, ...BUCKETS, ...BUCKETS.map((b) => b * 1.5), 11, 1e9, 0.0001];
  for (const v of values) place(v);
  for (const v of values.slice(3, 9)) placeAgain(v);
  stream(0.3);
  const { ref, ours } = await p.render();
  assert.ok(ref.includes(`${NAME}_count{grpc_type="unary",grpc_service="trading.v1.TradingGateway",grpc_method="PlaceOrder"} ${values.length + 6}`), ref);
  assert.ok(ref.includes('le="+Inf"'));
  assert.equal(ours, ref);
  const j = await p.json();
  assert.deepEqual(j.ours, j.ref);
});

test("call histogram: no series before the first observation, none after reset until observed again", async () => {
  const p = pair();
  const labels = { grpc_type: "unary", grpc_service: "s", grpc_method: "m" };
  const child = p.ours.labels(labels);
  p.ref.labels(labels);
  let r = await p.render();
  assert.equal(r.ours, r.ref);
  assert.ok(!r.ours.includes("_count"), r.ours);

  child.observe(0.002);
  p.ref.labels(labels).observe(0.002);
  p.ourRegistry.resetMetrics();
  p.refRegistry.resetMetrics();
  r = await p.render();
  assert.equal(r.ours, r.ref);
  assert.ok(!r.ours.includes("_count"), r.ours);

  // The child made before the reset counts again, from zero.
  child.observe(0.02);
  p.ref.labels(labels).observe(0.02);
  r = await p.render();
  assert.equal(r.ours, r.ref);
  assert.match(r.ours, /_count\{grpc_type="unary",grpc_service="s",grpc_method="m"\} 1\n/);
  assert.match(r.ours, /_sum\{grpc_type="unary",grpc_service="s",grpc_method="m"\} 0\.02\n/);
});

test("call histogram: refuses what prom-client refuses (a value that is not finite, an unknown label), and bad bounds", () => {
  const p = pair();
  const child = p.ours.labels({ grpc_type: "unary", grpc_service: "s", grpc_method: "m" });
  for (const v of [NaN, Infinity, -Infinity]) {
    assert.throws(() => child.observe(v), TypeError);
    assert.throws(() => p.ref.labels({ grpc_type: "unary", grpc_service: "s", grpc_method: "m" }).observe(v), TypeError);
  }
  const bad = { grpc_type: "unary", grpc_service: "s", grpc_method: "m", grpc_code: "OK" } as unknown as Record<(typeof labelNames)[number], string>;
  assert.throws(() => p.ours.labels(bad), /grpc_code/);
  assert.throws(() => p.ref.labels(bad), /grpc_code/);
  const reg = new Registry();
  assert.throws(() => createCallHistogram({ name: "x", help: "x", labelNames, buckets: [1, 1], registers: [reg] }), /strictly increasing/);
  assert.throws(() => createCallHistogram({ name: "y", help: "y", labelNames, buckets: [1, NaN], registers: [reg] }), /finite/);
  // A name already registered is refused by the registry, as for any prom-client metric.
  assert.throws(() => createCallHistogram({ name: NAME, help: HELP, labelNames, buckets: BUCKETS, registers: [p.ourRegistry] }), /already been registered/);
});
