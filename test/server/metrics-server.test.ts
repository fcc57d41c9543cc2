import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { createHealthRegistry, ServingStatus as S } from "../../src/server/health.js";
import { createMetricsServer } from "../../src/server/metrics-server.js";

async function started(t: import("node:test").TestContext) {
  const health = createHealthRegistry({ "": S.SERVING, "trading.v1.TradingGateway": S.SERVING, paper: S.SERVING });
  const ms = createMetricsServer({ registry: new Registry(), health });
  const { port } = await ms.listen("127.0.0.1", 0);
  t.after(() => ms.close());
  const get = async (path: string, method = "GET") => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    const text = await r.text();
    return { status: r.status, type: r.headers.get("content-type"), body: method === "HEAD" ? text : (JSON.parse(text) as unknown) };
  };
  return { health, get };
}

test("/healthz answers 200 while the process runs, whatever the gRPC health says", async (t) => {
  const { health, get } = await started(t);
  assert.deepEqual(await get("/healthz"), { status: 200, type: "application/json", body: { status: "alive" } });
  health.shutdown();
  assert.equal((await get("/healthz")).status, 200);
  assert.deepEqual(await get("/healthz", "HEAD"), { status: 200, type: "application/json", body: "" });
});

test("/readyz mirrors the gRPC health overall status: 200 SERVING, 503 NOT_SERVING naming the services down", async (t) => {
  const { health, get } = await started(t);
  assert.deepEqual(await get("/readyz"), { status: 200, type: "application/json", body: { status: "SERVING", notServing: [] } });

  // A venue down does not make the gateway unready (orders to other venues go on); it is named.
  health.set("paper", S.NOT_SERVING);
  assert.deepEqual((await get("/readyz")).body, { status: "SERVING", notServing: ["paper"] });
  assert.equal((await get("/readyz")).status, 200);

  // What the audit guard does when the audit log fails (src/composition-root.ts).
  health.set("", S.NOT_SERVING);
  health.set("trading.v1.TradingGateway", S.NOT_SERVING);
  assert.deepEqual(await get("/readyz"), {
    status: 503,
    type: "application/json",
    body: { status: "NOT_SERVING", notServing: ["trading.v1.TradingGateway", "paper"] },
  });
  assert.deepEqual(await get("/readyz", "HEAD"), { status: 503, type: "application/json", body: "" });

  health.set("", S.SERVING);
  assert.equal((await get("/readyz")).status, 200);
  health.shutdown();
  assert.equal((await get("/readyz")).status, 503, "shutting down: not ready");
});

test("/readyz without an overall status is not ready", async (t) => {
  const ms = createMetricsServer({ registry: new Registry(), health: createHealthRegistry({}) });
  const { port } = await ms.listen("127.0.0.1", 0);
  t.after(() => ms.close());
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(r.status, 503);
  assert.deepEqual(await r.json(), { status: "UNKNOWN", notServing: [] });
});
