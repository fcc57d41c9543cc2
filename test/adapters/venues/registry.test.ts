import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Registry } from "prom-client";
import { resolveVenueCredentials } from "../../../src/config/venues-file.js";
import { parseVenues as parseVenuesFile, resolveVenues } from "../../helpers/venue-config.js";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../../src/domain/order.js";
import { systemClock } from "../../../src/domain/ports.js";
import { createCounterIds } from "../../helpers/counter-ids.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { binanceDialect } from "../../helpers/fake-venues/binance.js";
import type { FakeVenue } from "../../helpers/fake-venues/fake-venue-server.js";
import { startFakeVenue } from "../../helpers/fake-venues/fake-venue-server.js";
import { makeOrder } from "./make-order.js";

const env = { BK: "key", BS: "secret" };
let fake: FakeVenue;
before(async () => {
  fake = await startFakeVenue(binanceDialect("key", "secret"));
});
after(() => fake.close());

test("paper venues come from B1's paper venue, named by the file; every venue reports health", async (t) => {
  const file = parseVenuesFile({ venues: [{ name: "sim", kind: "paper", paper: { referencePrices: { "BTC-USD": "100" } } }] }, "v.yaml");
  assert.ok(file.ok);
  const health: Array<[string, boolean]> = [];
  const venues = createVenues(resolveVenues(file.value, env), { clock: systemClock, ids: createCounterIds("p"), registry: new Registry(), onHealth: (v, s) => health.push([v, s]) });
  t.after(() => closeVenues(venues));
  const sim = venues.get("sim")!;
  assert.equal(sim.name, "sim");
  assert.equal(sim.kind, "paper");
  const r = await sim.placeOrder(
    makeOrder({ venue: "sim", type: OrderType.MARKET, timeInForce: TimeInForce.IOC, side: Side.BUY, price: "", quantity: "1" }),
    { signal: new AbortController().signal },
  );
  assert.ok(r.ok && r.value.status === OrderStatus.FILLED && r.value.fills[0]!.price === "100");
  assert.deepEqual(health, [["sim", true]]);
});

test("venues sharing a credential share one outbound budget", async (t) => {
  const entry = (name: string) => ({
    name,
    kind: "binance",
    baseUrl: fake.url,
    credentials: { apiKey: { env: "BK" }, apiSecret: { env: "BS" } },
    rateLimit: { capacity: 1, refillPerSecond: 0.001 },
  });
  const file = parseVenuesFile({ venues: [entry("b1"), entry("b2")] }, "v.yaml");
  assert.ok(file.ok);
  const venues = createVenues(resolveVenues(file.value, env), { clock: systemClock, ids: createCounterIds("p"), registry: new Registry() });
  t.after(() => closeVenues(venues));
  const ctx = { signal: new AbortController().signal };
  const a = await venues.get("b1")!.placeOrder(makeOrder({ venueClientOrderId: "reg-1" }), ctx);
  assert.ok(a.ok, JSON.stringify(a));
  const before = fake.requests.length;
  const b = await venues.get("b2")!.placeOrder(makeOrder({ venueClientOrderId: "reg-2" }), ctx);
  assert.ok(!b.ok && b.error.kind === "unavailable" && (b.error.retryAfterMs ?? 0) > 0);
  assert.equal(fake.requests.length, before, "refused before sending");
});

test("a missing credential stops the configuration (config/, before any venue is built) naming the variable, not a value", () => {
  const file = parseVenuesFile(
    { venues: [{ name: "b", kind: "binance", baseUrl: fake.url, credentials: { apiKey: { env: "BK" }, apiSecret: { env: "NOPE" } } }] },
    "/etc/venues.yaml",
  );
  assert.ok(file.ok);
  const resolved = resolveVenueCredentials(file.value, env);
  assert.ok(!resolved.ok && resolved.error === "/etc/venues.yaml: venue b: credentials.apiSecret: environment variable NOPE is not set");
});

test("rule overrides from the venue file reach the wire", async (t) => {
  const file = parseVenuesFile(
    {
      venues: [
        {
          name: "bx",
          kind: "binance",
          baseUrl: fake.url,
          credentials: { apiKey: { env: "BK" }, apiSecret: { env: "BS" } },
          overrides: { place: { fields: { selfTradePreventionMode: { value: "EXPIRE_TAKER" } } } },
        },
      ],
    },
    "v.yaml",
  );
  assert.ok(file.ok, file.ok ? "" : file.error);
  const venues = createVenues(resolveVenues(file.value, env), { clock: systemClock, ids: createCounterIds("p"), registry: new Registry() });
  t.after(() => closeVenues(venues));
  const r = await venues.get("bx")!.placeOrder(makeOrder({ venueClientOrderId: "reg-stp" }), { signal: new AbortController().signal });
  assert.ok(r.ok, JSON.stringify(r));
  const sent = fake.requests.at(-1)!;
  assert.equal(sent.query.get("selfTradePreventionMode"), "EXPIRE_TAKER");
  assert.equal(sent.query.get("newClientOrderId"), "reg-stp");
});

test("Binance's X-MBX-USED-WEIGHT-1M caps the local budget (another process shares the IP)", async (t) => {
  const busy = await startFakeVenue(binanceDialect("key", "secret", { usedWeight: () => 5998 }));
  t.after(() => busy.close());
  const file = parseVenuesFile(
    { venues: [{ name: "bw", kind: "binance", baseUrl: busy.url, credentials: { apiKey: { env: "BK" }, apiSecret: { env: "BS" } } }] },
    "v.yaml",
  );
  assert.ok(file.ok);
  const venues = createVenues(resolveVenues(file.value, env), { clock: systemClock, ids: createCounterIds("p"), registry: new Registry() });
  t.after(() => closeVenues(venues));
  const ctx = { signal: new AbortController().signal };
  const order = makeOrder({ venueClientOrderId: "w-1" });
  assert.ok((await venues.get("bw")!.placeOrder(order, ctx)).ok);
  // 6000 - 5998 = 2 left: a query (weight 4) is refused locally, before sending.
  const sentBefore = busy.requests.length;
  const q = await venues.get("bw")!.queryOrder(order, ctx);
  assert.ok(!q.ok && q.error.kind === "unavailable" && /outbound rate limit/.test(q.error.reason));
  assert.equal(busy.requests.length, sentBefore);
});
