/**
 * Kraken's dead-man switch (CancelAllOrdersAfter) through the real adapter (translate -> sign ->
 * send -> parse) against the fake Kraken, which checks the signature; and cancel-on-disconnect
 * arming it while a session covering the venue lives, refreshing it, and disarming it (timeout 0)
 * when the session closes cleanly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { createKrakenAdapter } from "../../../src/adapters/venues/kraken/index.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import { systemClock } from "../../../src/domain/ports.js";
import { createCancelOnDisconnect } from "../../../src/use-cases/cancel-on-disconnect.js";
import { startFakeVenue } from "../../helpers/fake-venues/fake-venue-server.js";
import { krakenDialect } from "../../helpers/fake-venues/kraken.js";
import { waitFor } from "../../helpers/wait-for.js";
import { createManualTimers } from "../../helpers/manual-timers.js";

async function setup(t: { after: (fn: () => Promise<void>) => void }, secret = randomBytes(64).toString("base64")) {
  const realSecret = randomBytes(64).toString("base64");
  const dialect = krakenDialect("k", realSecret);
  const fake = await startFakeVenue(dialect);
  const adapter = createKrakenAdapter(
    { name: "kraken", baseUrl: fake.url, symbols: {}, timeoutMs: 5000, limiterKey: "k", credentials: { apiKey: "k", apiSecret: secret === "" ? realSecret : secret } },
    { clock: systemClock, metrics: createVenueMetrics(new Registry()) },
  );
  t.after(async () => {
    await adapter.close();
    await fake.close();
  });
  return { dialect, adapter };
}

test("the Kraken adapter arms and disarms CancelAllOrdersAfter, signed as Kraken checks it", async (t) => {
  const { dialect, adapter } = await setup(t, "");
  const ctx = { signal: new AbortController().signal };
  assert.deepEqual(await adapter.deadManSwitch!(60, ctx), { ok: true, value: undefined });
  assert.deepEqual(await adapter.deadManSwitch!(0, ctx), { ok: true, value: undefined });
  assert.deepEqual(dialect.deadManTimeouts, [60, 0]);
});

test("a wrong secret is refused by the fake's signature check (auth error)", async (t) => {
  const { dialect, adapter } = await setup(t);
  const r = await adapter.deadManSwitch!(60, { signal: new AbortController().signal });
  assert.ok(!r.ok && r.error.kind === "auth");
  assert.deepEqual(dialect.deadManTimeouts, []);
  // Break tried: signing without the nonce in the body -> "EAPI:Invalid signature" in the first test.
});

test("cancel-on-disconnect arms the switch of a venue it covers, refreshes it, keeps it through the grace period, disarms it after", async (t) => {
  const { dialect, adapter } = await setup(t, "");
  const timers = createManualTimers();
  const canceled: string[] = [];
  const cod = createCancelOnDisconnect({
    timers,
    cancelOpenOrders: async (_scope, reason) => void canceled.push(reason),
    deadMan: { venues: new Map([["kraken", adapter]]), timeoutSeconds: 60, refreshMs: 15_000 },
  });
  // A session scoped to another venue does not arm Kraken's.
  cod.open({ account: "a", sessionId: "other", graceMs: 10, venue: "binance" }).end(true);
  const lease = cod.open({ account: "a", sessionId: "s", graceMs: 10 });
  await waitFor(() => dialect.deadManTimeouts.length === 1, { what: "armed" });
  timers.fireAll(); // the refresh
  await waitFor(() => dialect.deadManTimeouts.length === 2, { what: "refreshed" });
  lease.end(false); // lost: still armed while the grace period runs
  timers.fireAll(); // grace period over (and a refresh): the gateway cancels, the switch is disarmed
  await waitFor(() => dialect.deadManTimeouts.at(-1) === 0, { what: "disarmed" });
  assert.deepEqual(canceled, ["cancel-on-disconnect session s"]);
  assert.equal(dialect.deadManTimeouts.filter((x) => x === 60).length >= 2, true);

  const clean = cod.open({ account: "a", sessionId: "s2", graceMs: 10, venue: "kraken" });
  await waitFor(() => dialect.deadManTimeouts.at(-1) === 60, { what: "armed again" });
  clean.end(true);
  await waitFor(() => dialect.deadManTimeouts.at(-1) === 0, { what: "disarmed on a clean close" });
  cod.close();
  // Break tried: syncSwitches not called on a clean end -> "disarmed on a clean close" times out.
});

test("50 concurrent signed Kraken calls all reach the venue in nonce order (one connection by default): no EAPI:Invalid nonce", async (t) => {
  const { dialect, adapter } = await setup(t, "");
  const ctx = { signal: new AbortController().signal };
  // Over several keep-alive connections, calls signed in order overtook each other and Kraken
  // (here its fake, which requires every nonce above the last) refused the late ones.
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => adapter.deadManSwitch!(60 + i, ctx)));
  assert.deepEqual(results.filter((r) => !r.ok), []);
  assert.equal(dialect.deadManTimeouts.length, 50);
});
