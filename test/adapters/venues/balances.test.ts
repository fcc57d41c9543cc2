import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { systemClock } from "../../../src/domain/ports.js";
import { closeVenues, createVenues } from "../../../src/adapters/venues/registry.js";
import { createVenueMetrics } from "../../../src/adapters/venues/venue-metrics.js";
import { createPaperVenue } from "../../../src/adapters/venues/paper/paper-venue.js";
import { fromKrakenBalances } from "../../../src/adapters/venues/kraken/translate.js";
import { fromCoinbaseBalances } from "../../../src/adapters/venues/coinbase/translate.js";
import { fromAlpacaBalances } from "../../../src/adapters/venues/alpaca/translate.js";
import { fromBinanceBalances } from "../../../src/adapters/venues/binance/translate.js";
import type { VenueAdapter, VenueBalance } from "../../../src/use-cases/venue-adapter.js";
import { OrderType, Side, TimeInForce } from "../../../src/domain/order.js";
import type { FakeVenues } from "../../helpers/fake-venues/contract-venues.js";
import { startFakeVenues, venueCases, venueEnv } from "../../helpers/fake-venues/contract-venues.js";
import { createCounterIds } from "../../helpers/counter-ids.js";
import { resolveVenues } from "../../helpers/venue-config.js";
import { makeOrder } from "./make-order.js";

/**
 * fetchBalances of every venue kind against its fake: the fake checks the signature the way the
 * venue documents it (a wrong secret is refused), and answers in the venue's documented shape.
 */

let fakes: FakeVenues;
let venues: ReadonlyMap<string, VenueAdapter>;
const ctx = () => ({ signal: new AbortController().signal });

before(async () => {
  fakes = await startFakeVenues();
  venues = createVenues(resolveVenues(fakes.file, venueEnv), { clock: systemClock, ids: createCounterIds("p"), metrics: createVenueMetrics(new Registry()) });
});
after(async () => {
  await closeVenues(venues);
  await fakes.close();
});

function byAsset(list: readonly VenueBalance[]): Record<string, [string, string]> {
  return Object.fromEntries(list.map((b) => [b.asset, [b.free, b.locked]]));
}

async function balancesOf(venue: string): Promise<Record<string, [string, string]>> {
  const r = await venues.get(venue)!.fetchBalances!(ctx());
  assert.ok(r.ok, r.ok ? "" : `${venue}: ${r.error.kind}: ${r.error.reason}`);
  return byAsset(r.value);
}

describe("fetchBalances against the fake venues", () => {
  test("binance: signed GET /api/v3/account with omitZeroBalances; free and locked as reported", async () => {
    assert.deepEqual(await balancesOf("binance"), { BTC: ["1.5", "0.25"], USD: ["10000", "0"] });
    const req = fakes.fakes.get("binance")!.requests.at(-1)!;
    assert.equal(req.path, "/api/v3/account");
    assert.equal(req.query.get("omitZeroBalances"), "true");
    assert.ok(req.query.get("signature"), "signed (USER_DATA)");
  });

  test("kraken: signed POST BalanceEx; free = balance - hold_trade, locked = hold_trade, Kraken's asset names", async () => {
    assert.deepEqual(await balancesOf("kraken"), { XXBT: ["1.5", "0.25"], ZUSD: ["10000", "0"] });
    assert.equal(fakes.fakes.get("kraken")!.requests.at(-1)!.path, "/0/private/BalanceEx");
  });

  test("alpaca: GET /v2/account; the cash as one USD balance, nothing locked", async () => {
    assert.deepEqual(await balancesOf("alpaca"), { USD: ["10000", "0"] });
  });

  test("coinbase: every page of GET /api/v3/brokerage/accounts through the cursor", async () => {
    const engine = fakes.fakes.get("coinbase")!.engine;
    const saved = engine.balances.splice(0);
    try {
      for (let i = 0; i < 300; i++) engine.balances.push({ asset: `A${i}`, free: String(i + 1), locked: i === 299 ? "0.5" : "0" });
      // Two wallets of one currency are summed.
      engine.balances.push({ asset: "A0", free: "2", locked: "1" });
      const before = fakes.fakes.get("coinbase")!.requests.length;
      const got = await balancesOf("coinbase");
      const reqs = fakes.fakes.get("coinbase")!.requests.slice(before);
      assert.equal(reqs.length, 2, "two pages of 250");
      assert.equal(reqs[1]!.query.get("cursor"), "250");
      assert.equal(Object.keys(got).length, 300);
      assert.deepEqual(got["A0"], ["3", "1"]);
      assert.deepEqual(got["A299"], ["300", "0.5"]);
    } finally {
      engine.balances.splice(0, engine.balances.length, ...saved);
    }
  });

  test("rest-json venues do not report balances", () => {
    assert.equal(venues.get("acme")!.fetchBalances, undefined);
  });

  for (const c of venueCases.filter((v) => v.kind !== "rest-json")) {
    test(`${c.venue}: credentials the venue refuses are an auth error, not balances`, async () => {
      const wrong = createVenues(resolveVenues({ ...fakes.file, venues: fakes.file.venues.filter((v) => v.name === c.venue) }, { ...venueEnv, ...c.wrongCredentials }), {
        clock: systemClock,
        ids: createCounterIds("w"),
        metrics: createVenueMetrics(new Registry()),
      });
      try {
        const r = await wrong.get(c.venue)!.fetchBalances!(ctx());
        assert.ok(!r.ok);
        assert.equal(r.error.kind, "auth", r.error.reason);
      } finally {
        await closeVenues(wrong);
      }
    });
  }

  test("a 5xx or a rate-limit answer is an error (unavailable / rate_limited), never an empty list", async () => {
    const fake = fakes.fakes.get("binance")!;
    fake.failNext("balances", "503-not-accepted");
    const down = await venues.get("binance")!.fetchBalances!(ctx());
    assert.ok(!down.ok && down.error.kind === "unavailable");
    fake.failNext("balances", "429");
    const limited = await venues.get("binance")!.fetchBalances!(ctx());
    assert.ok(!limited.ok && limited.error.kind === "rate_limited");
  });
});

describe("balance answers parsed (venue documentation examples)", () => {
  const res = (body: unknown, status = 200) => ({ status, headers: {}, bodyText: JSON.stringify(body) });

  test("kraken: available = balance + credit - credit_used - hold_trade", () => {
    const r = fromKrakenBalances(res({ error: [], result: { ZUSD: { balance: "10", credit: "2", credit_used: "1", hold_trade: "3" }, XXBT: { balance: "0", hold_trade: "0" } } }));
    assert.ok(r.ok);
    assert.deepEqual(r.value.balances, [
      { asset: "ZUSD", free: "8", locked: "3" },
      { asset: "XXBT", free: "0", locked: "0" },
    ]);
    const e = fromKrakenBalances(res({ error: ["EGeneral:Permission denied"] }));
    assert.ok(!e.ok && e.error.kind === "auth");
  });

  test("coinbase: has_next without a cursor is a protocol error", () => {
    const r = fromCoinbaseBalances(res({ accounts: [], has_next: true, cursor: "" }));
    assert.ok(!r.ok && r.error.kind === "protocol");
  });

  test("alpaca: negative cash (margin) is passed through; missing cash is a protocol error", () => {
    const r = fromAlpacaBalances(res({ currency: "USD", cash: "-23140.2", buying_power: "262113.632" }));
    assert.ok(r.ok);
    assert.deepEqual(r.value.balances, [{ asset: "USD", free: "-23140.2", locked: "0" }]);
    assert.ok(!fromAlpacaBalances(res({ currency: "USD" })).ok);
  });

  test("binance: an entry without free is a protocol error; an error body is mapped", () => {
    assert.ok(!fromBinanceBalances(res({ balances: [{ asset: "BTC", locked: "0" }] })).ok);
    const e = fromBinanceBalances(res({ code: -2015, msg: "Invalid API-key, IP, or permissions for action." }, 401));
    assert.ok(!e.ok && e.error.kind === "auth");
  });
});

describe("paper venue balances", () => {
  test("without starting balances the paper venue reports none", () => {
    assert.equal(createPaperVenue({ clock: systemClock, ids: createCounterIds("p") }).fetchBalances, undefined);
  });

  test("fills move the configured balances: base in, quote notional and fee out (and back on a sell)", async () => {
    const paper = createPaperVenue({ clock: systemClock, ids: createCounterIds("p"), balances: { USD: "100000", BTC: "0" }, referencePrices: { "BTC-USD": "65000" }, feeRate: "0.001" });
    assert.deepEqual(byAsset(((await paper.fetchBalances!(ctx())) as { value: VenueBalance[] }).value), { USD: ["100000", "0"] });
    const order = (side: Side, id: string) =>
      makeOrder({ venue: "paper", symbol: "BTC-USD", side, type: OrderType.MARKET, timeInForce: TimeInForce.IOC, quantity: "0.5", price: "", venueClientOrderId: id });
    assert.ok((await paper.placeOrder(order(Side.BUY, "b1"), ctx())).ok);
    // 0.5 x 65000 = 32500, fee 32.5.
    assert.deepEqual(byAsset(((await paper.fetchBalances!(ctx())) as { value: VenueBalance[] }).value), { USD: ["67467.5", "0"], BTC: ["0.5", "0"] });
    assert.ok((await paper.placeOrder(order(Side.SELL, "s1"), ctx())).ok);
    assert.deepEqual(byAsset(((await paper.fetchBalances!(ctx())) as { value: VenueBalance[] }).value), { USD: ["99935", "0"] });
  });
});
