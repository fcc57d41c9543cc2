import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { createReplaceMetrics } from "../../../src/adapters/metrics/metrics.js";

test("gateway_replaces_total counts by method and outcome, and a second core on the same registry keeps the series", async () => {
  const registry = new Registry();
  createReplaceMetrics(registry).observe("amend", "replaced");
  createReplaceMetrics(registry).observe("amend", "replaced");
  createReplaceMetrics(registry).observe("cancel_then_new", "pending");
  const text = await registry.metrics();
  assert.match(text, /gateway_replaces_total\{method="amend",outcome="replaced"\} 2/);
  assert.match(text, /gateway_replaces_total\{method="cancel_then_new",outcome="pending"\} 1/);
});
