import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Registry } from "prom-client";
import type { VenueFileEntry, VenuesFile } from "../../../../src/config/venues-file.js";
import { OrderStatus } from "../../../../src/domain/order.js";
import type { VenueAdapter } from "../../../../src/use-cases/venue-adapter.js";
import { deriveVenueClientOrderId } from "../../../../src/use-cases/client-order-id.js";
import type { RestJsonHmacAuth } from "../../../../src/adapters/venues/rest-json/describe.js";
import { closeVenues, createVenues, VenueConfigError } from "../../../../src/adapters/venues/registry.js";
import { binanceDialect } from "../../../helpers/fake-venues/binance.js";
import { contractFixturePath, venueEnv } from "../../../helpers/fake-venues/contract-venues.js";
import { startFakeVenue, type FakeVenue } from "../../../helpers/fake-venues/fake-venue-server.js";
import { restJsonDialect } from "../../../helpers/fake-venues/rest-json.js";
import { makeOrder } from "../make-order.js";
import { loadVenues, resolveVenues } from "../../../helpers/venue-config.js";

/**
 * rest-json venues that sign with HMAC rules from the venue file, against
 * fake venues on loopback that recompute the signature from the raw request
 * (their own code, not the gateway's signer) and refuse a wrong one.
 */

const ctx = () => ({ signal: new AbortController().signal });
let seq = 0;

function load(path: string, urls: Record<string, string>): VenuesFile {
  const r = loadVenues(path, (p) => readFileSync(p, "utf8").replace(/\$\{(\w+)\}/g, (_, n: string) => urls[n] ?? "http://127.0.0.1:1"));
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.value;
}

function build(t: { after: (fn: () => Promise<void>) => void }, file: VenuesFile, env: Record<string, string> = venueEnv): ReadonlyMap<string, VenueAdapter> {
  const venues = createVenues(resolveVenues(file, env), { clock: { nowMs: () => Date.now() }, ids: { next: () => `id-${++seq}` }, registry: new Registry() });
  t.after(() => closeVenues(venues));
  return venues;
}

function order(kind = "rest-json", over: Parameters<typeof makeOrder>[0] = {}) {
  const key = `hmac-${++seq}-${randomBytes(4).toString("hex")}`;
  return makeOrder({ idempotencyKey: key, venueClientOrderId: deriveVenueClientOrderId(kind, key), quantity: "1.5", price: "25000.5", ...over });
}

async function fake(t: { after: (fn: () => Promise<void>) => void }, dialect: Parameters<typeof startFakeVenue>[0]): Promise<FakeVenue> {
  const f = await startFakeVenue(dialect);
  t.after(() => f.close());
  return f;
}

const binanceByRules = new URL("../../../fixtures/venues/binance-by-rules.yaml", import.meta.url).pathname;

test("Binance described by rules alone: the fake Binance accepts its signatures for place, query and cancel", async (t) => {
  const venue = await fake(t, binanceDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!));
  const adapter = build(t, load(binanceByRules, { BINANCE_URL: venue.url })).get("binance-rules")!;
  const o = order();
  const placed = await adapter.placeOrder(o, ctx());
  assert.ok(placed.ok, JSON.stringify(placed));
  assert.equal(placed.value.status, OrderStatus.NEW);
  const held = venue.engine.orders.get(o.venueClientOrderId);
  assert.ok(held, "the venue holds the order under the client order id");
  assert.deepEqual([held.symbol, held.side, held.quantity, held.price], ["BTCUSDT", "BUY", "1.5", "25000.5"]);
  const known = { ...o, venueOrderId: placed.value.venueOrderId };
  const queried = await adapter.queryOrder(known, ctx());
  assert.ok(queried.ok && queried.value.status === OrderStatus.NEW, JSON.stringify(queried));
  const cancelled = await adapter.cancelOrder(known, ctx());
  assert.ok(cancelled.ok && cancelled.value.status === OrderStatus.CANCELED, JSON.stringify(cancelled));
  // As documented: recvWindow and timestamp in the query, the signature last, the key in a header.
  for (const r of venue.requests) {
    assert.match(r.rawQuery, /&recvWindow=5000&timestamp=\d{13}&signature=[0-9a-f]{64}$/);
    assert.equal(r.headers["x-mbx-apikey"], venueEnv["BINANCE_API_KEY"]);
  }
  assert.deepEqual(venue.requests.map((r) => r.method), ["POST", "GET", "DELETE"]);
});

test("Binance described by rules alone: a wrong secret is refused by the venue (-1022) and nothing is placed", async (t) => {
  const venue = await fake(t, binanceDialect(venueEnv["BINANCE_API_KEY"]!, venueEnv["BINANCE_API_SECRET"]!));
  const adapter = build(t, load(binanceByRules, { BINANCE_URL: venue.url }), { ...venueEnv, BINANCE_API_SECRET: "not-the-secret" }).get("binance-rules")!;
  const r = await adapter.placeOrder(order(), ctx());
  assert.ok(!r.ok);
  assert.match(r.error.reason, /Signature for this request is not valid\. \(-1022\)/);
  assert.equal(venue.engine.orders.size, 0);
  assert.ok(!JSON.stringify(r.error).includes("not-the-secret"));
});

/** The contract file's acme-signed venue (Coinbase Exchange's scheme), with its auth rules changed by `change`. */
function acmeSigned(url: string, change: (auth: RestJsonHmacAuth) => RestJsonHmacAuth = (a) => a, name = "acme-signed"): VenueFileEntry {
  const file = load(contractFixturePath, { ACME_SIGNED_URL: url });
  const v = file.venues.find((x) => x.name === "acme-signed")!;
  return { ...v, name, auth: change(v.auth as RestJsonHmacAuth) };
}

function acmeFake() {
  return restJsonDialect(venueEnv["ACME_SIGNED_KEY"]!, { secretBase64: venueEnv["ACME_SIGNED_SECRET"]!, passphrase: venueEnv["ACME_SIGNED_PASSPHRASE"]! });
}

test("the fake refuses (401) a signature that leaves out what the venue signs; the adapter reports auth", async (t) => {
  const venue = await fake(t, acmeFake());
  // Rules that forget the body: a GET (no body) still verifies, a POST does not.
  const noBody = acmeSigned(venue.url, (a) => ({ ...a, payload: "{timestamp}{method}{pathAndQuery}" }));
  const adapter = build(t, { path: "test", pollIntervalMs: 1000, venues: [noBody] }).get("acme-signed")!;
  const placed = await adapter.placeOrder(order(), ctx());
  assert.ok(!placed.ok);
  assert.equal(placed.error.kind, "auth");
  assert.match(placed.error.reason, /invalid signature/);
  assert.equal(venue.engine.orders.size, 0);
  const queried = await adapter.queryOrder(order(), ctx());
  assert.ok(!queried.ok);
  assert.equal(queried.error.kind, "not_found", "the GET was authenticated and looked up");
  // Rules that sign the path without the query: refused once a query is sent.
  const noQuery = acmeSigned(venue.url, (a) => ({ ...a, payload: "{timestamp}{method}{path}{body}" }));
  const q = await build(t, { path: "test", pollIntervalMs: 1000, venues: [noQuery] }).get("acme-signed")!.queryOrder(order(), ctx());
  assert.ok(!q.ok && q.error.kind === "auth", JSON.stringify(q));
  // A timestamp in the wrong unit (seconds where the venue reads ms) is outside the venue's window.
  const seconds = acmeSigned(venue.url, (a) => ({ ...a, timestampUnit: "s" }));
  const s = await build(t, { path: "test", pollIntervalMs: 1000, venues: [seconds] }).get("acme-signed")!.placeOrder(order(), ctx());
  assert.ok(!s.ok && s.error.kind === "auth" && /timestamp/.test(s.error.reason), JSON.stringify(s));
});

test("venues sharing an HMAC key share one strictly increasing {nonce} sequence", async (t) => {
  const venue = await fake(t, acmeFake());
  const withNonce = (a: RestJsonHmacAuth): RestJsonHmacAuth => ({ ...a, headers: { ...a.headers, "X-ACME-NONCE": "{nonce}" } });
  const venues = build(t, { path: "test", pollIntervalMs: 1000, venues: [acmeSigned(venue.url, withNonce, "a1"), acmeSigned(venue.url, withNonce, "a2")] });
  for (let i = 0; i < 3; i++) {
    for (const name of ["a1", "a2"]) assert.ok((await venues.get(name)!.placeOrder(order(), ctx())).ok);
  }
  const nonces = venue.requests.map((r) => Number(r.headers["x-acme-nonce"]));
  assert.equal(nonces.length, 6);
  for (let i = 1; i < nonces.length; i++) assert.ok(nonces[i]! > nonces[i - 1]!, `nonces ${nonces.join(", ")} strictly increase`);
});

test("an HMAC key that is not what secretEncoding says stops the configuration, naming the credential, not the value", () => {
  const file: VenuesFile = { path: "/etc/venues.yaml", pollIntervalMs: 1000, venues: [acmeSigned("http://127.0.0.1:1")] };
  assert.throws(
    () => createVenues(resolveVenues(file, { ...venueEnv, ACME_SIGNED_SECRET: "sec ret!" }), { clock: { nowMs: () => 0 }, ids: { next: () => "x" }, registry: new Registry() }),
    (e: unknown) =>
      e instanceof VenueConfigError &&
      e.message === "/etc/venues.yaml: venue acme-signed: credentials.apiSecret: is not valid base64 (auth.secretEncoding says how the HMAC key is written)",
  );
});
