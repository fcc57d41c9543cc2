import assert from "node:assert/strict";
import { test } from "node:test";
import { createBalanceCache } from "../../src/use-cases/balance-cache.js";
import type { VenueAdapter, VenueBalance, VenueCallContext, VenueError } from "../../src/use-cases/venue-adapter.js";
import type { Result } from "../../src/domain/result.js";
import { createPaperVenue } from "../../src/adapters/venues/paper/paper-venue.js";
import { createFillHub } from "../../src/use-cases/fill-hub.js";
import { createOrderPipeline } from "../../src/composition-root.js";
import { createCounterIds } from "../helpers/counter-ids.js";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";
import { waitFor } from "../helpers/wait-for.js";
import { createManualClock, createMemoryAudit } from "./support.js";

type Answer = Result<VenueBalance[], VenueError>;

/** A venue whose balance answers the test scripts; each call waits for `release` when `hold` is set. */
function scriptedBalances(name: string) {
  const answers: Answer[] = [];
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let hold: Promise<void> | undefined;
  const signals: AbortSignal[] = [];
  const adapter = {
    name,
    kind: "scripted",
    async fetchBalances(ctx: VenueCallContext): Promise<Answer> {
      calls++;
      signals.push(ctx.signal);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (hold !== undefined) await hold;
        return answers.shift() ?? { ok: true, value: [{ asset: "USD", free: "1", locked: "0" }] };
      } finally {
        inFlight--;
      }
    },
  } as unknown as VenueAdapter;
  return {
    adapter,
    answers,
    signals,
    get calls() {
      return calls;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    holdUntil(p: Promise<void> | undefined) {
      hold = p;
    },
  };
}

const usd = (free: string): Answer => ({ ok: true, value: [{ asset: "USD", free, locked: "0" }] });
const down: Answer = { ok: false, error: { kind: "unavailable", reason: "connection refused" } };

test("the first call waits for the venue; later calls answer from the cache with the figures' age", async () => {
  const clock = createManualClock();
  const v = scriptedBalances("v1");
  v.answers.push(usd("100"));
  const cache = createBalanceCache({ venues: new Map([["v1", v.adapter]]), clock, refreshMs: 30_000 });
  const [first] = await cache.get(["v1"]);
  assert.deepEqual(first, { venue: "v1", balances: [{ asset: "USD", free: "100", locked: "0" }], asOfMs: clock.nowMs(), error: undefined });
  clock.advance(5_000);
  const [second] = await cache.get(["v1"]);
  assert.equal(v.calls, 1, "served from the cache");
  assert.equal(second!.asOfMs, clock.nowMs() - 5_000);
  cache.close();
});

test("a failed refresh keeps the last good figures with their true time and says why they are not current", async () => {
  const clock = createManualClock();
  const v = scriptedBalances("v1");
  v.answers.push(usd("100"), down);
  const cache = createBalanceCache({ venues: new Map([["v1", v.adapter]]), clock, refreshMs: 0, onDemandMinAgeMs: 1000 });
  const asOf = clock.nowMs();
  await cache.get(["v1"]);
  clock.advance(2_000);
  const [after] = await cache.get(["v1"]);
  assert.equal(v.calls, 2);
  assert.deepEqual(after!.balances, [{ asset: "USD", free: "100", locked: "0" }]);
  assert.equal(after!.asOfMs, asOf);
  assert.match(after!.error ?? "", /unavailable: connection refused/);
  cache.close();
});

test("a venue that never answered has no balances, only the error; a venue without fetchBalances says so", async () => {
  const clock = createManualClock();
  const v = scriptedBalances("v1");
  v.answers.push(down);
  const plain = { name: "plain", kind: "x" } as unknown as VenueAdapter;
  const cache = createBalanceCache({ venues: new Map([["v1", v.adapter], ["plain", plain]]), clock, refreshMs: 30_000 });
  const [a, b] = await cache.get(["v1", "plain"]);
  assert.deepEqual(a!.balances, []);
  assert.equal(a!.asOfMs, undefined);
  assert.match(a!.error ?? "", /connection refused/);
  assert.deepEqual(b, { venue: "plain", balances: [], asOfMs: undefined, error: "venue plain does not report balances" });
  cache.close();
});

test("on demand only (0): figures younger than the minimum age are reused, older ones fetched again", async () => {
  const clock = createManualClock();
  const v = scriptedBalances("v1");
  const cache = createBalanceCache({ venues: new Map([["v1", v.adapter]]), clock, refreshMs: 0, onDemandMinAgeMs: 1000 });
  await cache.get(["v1"]);
  clock.advance(999);
  await cache.get(["v1"]);
  assert.equal(v.calls, 1);
  clock.advance(1);
  await cache.get(["v1"]);
  assert.equal(v.calls, 2);
  // With 0 a fill schedules nothing: GetBalances fetches when asked.
  cache.noteFill("v1");
  cache.close();
});

test("fills schedule one debounced refresh and never fetch inline", async () => {
  const clock = createManualClock();
  const v = scriptedBalances("v1");
  const cache = createBalanceCache({ venues: new Map([["v1", v.adapter]]), clock, refreshMs: 60_000, afterFillDelayMs: 5 });
  await cache.get(["v1"]);
  v.answers.push(usd("42"));
  cache.noteFill("v1");
  cache.noteFill("v1");
  cache.noteFill("v1");
  assert.equal(v.calls, 1, "nothing fetched inline");
  await waitFor(() => v.calls === 2, { what: "the refresh after fills" });
  const [s] = await cache.get(["v1"]);
  assert.equal(s!.balances[0]!.free, "42");
  assert.equal(v.calls, 2, "three fills, one refresh");
  cache.close();
});

test("refreshes run at most `concurrency` at once; close aborts the ones in flight", async () => {
  const clock = createManualClock();
  const vs = Array.from({ length: 6 }, (_, i) => scriptedBalances(`v${i}`));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let peak = 0;
  for (const v of vs) v.holdUntil(gate);
  const cache = createBalanceCache({ venues: new Map(vs.map((v) => [v.adapter.name, v.adapter])), clock, refreshMs: 60_000, concurrency: 2 });
  cache.start();
  await waitFor(() => vs.filter((v) => v.calls > 0).length === 2, { what: "two fetches started" });
  const pending = cache.get(vs.map((v) => v.adapter.name));
  peak = vs.filter((v) => v.calls > 0).length;
  release();
  const all = await pending;
  assert.equal(peak, 2);
  assert.equal(all.length, 6);
  assert.ok(all.every((s) => s.error === undefined && s.balances.length === 1));
  // close(): timers cleared, the abort signal handed to venue calls fires.
  const hung = scriptedBalances("hung");
  hung.holdUntil(new Promise(() => {}));
  const c2 = createBalanceCache({ venues: new Map([["hung", hung.adapter]]), clock, refreshMs: 60_000 });
  c2.start();
  await waitFor(() => hung.calls === 1);
  c2.close();
  assert.equal(hung.signals[0]!.aborted, true);
  cache.close();
});

test("the order pipeline tells the cache about fills: a paper fill shows in the balances after the refresh", async () => {
  const clock = createManualClock();
  const paper = createPaperVenue({ clock, ids: createCounterIds("p"), balances: { USD: "100000" }, referencePrices: { "BTC-USD": "65000" }, feeRate: "0" });
  const venues = new Map<string, VenueAdapter>([["paper", paper]]);
  const cache = createBalanceCache({ venues, clock, refreshMs: 60_000, afterFillDelayMs: 1 });
  const hub = createFillHub({ retain: 10, subscriberBuffer: 4 });
  const core = createOrderPipeline({ venues, audit: createMemoryAudit("buffered"), fills: hub, signal: new AbortController().signal, clock, balances: cache });
  assert.deepEqual((await cache.get(["paper"]))[0]!.balances, [{ asset: "USD", free: "100000", locked: "0" }]);
  const placed = await core.placeOrder({ ...MARKET_ORDER_FIELDS, quantity: "1", price: "", stopPrice: "", idempotencyKey: "k-1" }, { requestId: "r", principal: { keyId: "t", accounts: "any" }, deadlineMs: undefined });
  assert.ok(placed.ok);
  const s = await waitFor(async () => {
    const [snap] = await cache.get(["paper"]);
    return snap!.balances.some((b) => b.asset === "BTC") ? snap : undefined;
  }, { what: "balances after the fill" });
  assert.deepEqual(s!.balances, [
    { asset: "USD", free: "35000", locked: "0" },
    { asset: "BTC", free: "1", locked: "0" },
  ]);
  cache.close();
  hub.close();
});

test("start() refreshes every venue on the interval; close() stops it (later refreshes are no-ops)", async () => {
  const clock = createManualClock();
  const v = scriptedBalances("v1");
  const cache = createBalanceCache({ venues: new Map([["v1", v.adapter]]), clock, refreshMs: 5 });
  cache.start();
  await waitFor(() => v.calls >= 3, { what: "three interval refreshes" });
  cache.close();
  const calls = v.calls;
  // After close neither a fill nor a request fetches: the figures are served as they were.
  cache.noteFill("v1");
  clock.advance(60_000);
  const [s] = await cache.get(["v1"]);
  assert.equal(s!.balances.length, 1);
  assert.equal(v.calls, calls);
});

test("with a deadline, a venue still on its first request is answered as such before the deadline", async () => {
  const clock = createManualClock();
  const hung = scriptedBalances("hung");
  hung.holdUntil(new Promise(() => {}));
  const ok = scriptedBalances("ok");
  const cache = createBalanceCache({ venues: new Map([["hung", hung.adapter], ["ok", ok.adapter]]), clock, refreshMs: 60_000 });
  const [h, o] = await cache.get(["hung", "ok"], clock.nowMs() + 80);
  assert.deepEqual(h, { venue: "hung", balances: [], asOfMs: undefined, error: "venue hung has not answered the first balance request yet" });
  assert.equal(o!.balances.length, 1);
  cache.close();
});
