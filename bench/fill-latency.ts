/**
 * `npm run bench -- --fill-latency`: how long a venue execution takes to reach a StreamFills
 * subscriber, by push (the venue's user stream) and by polling (stream off), per streaming venue.
 *
 * One process holds the fake venue (REST + user stream, test/helpers/fake-venues), the whole
 * gateway (createGateway, audit off) and the gRPC client, so one clock times both ends: from the
 * moment the fake venue emits the execution (its engine pushes the stream frame synchronously) to
 * the fill arriving on StreamFills. Rounds of `--batch` resting orders are placed, then each is
 * filled, paced at `--rate` per second; a round ends when every fill arrived. Harnesses:
 * test/helpers/streaming-gateway.ts (Binance, Kraken) and test/helpers/alpaca-coinbase-gateway.ts
 * (Alpaca, Coinbase, whose fake stream servers follow the engine there).
 *
 *   npm run bench -- --fill-latency [--fills 1000] [--batch 50] [--rate 200] [--poll-ms 1000] [--venues binance,kraken,alpaca,coinbase] [--modes push,poll]
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { OrderType, Side, TimeInForce } from "../gen/trading/v1/trading_gateway_pb.js";
import { startAlpacaCoinbaseGateway } from "../test/helpers/alpaca-coinbase-gateway.js";
import { startStreamingGateway, type StreamingGateway, type StreamVenueKind } from "../test/helpers/streaming-gateway.js";
import { summarize } from "./stats.js";

type BenchVenue = StreamVenueKind | "alpaca" | "coinbase";

/** What a round needs of a harness; Binance/Kraken and Alpaca/Coinbase have their own (same shape here). */
type Rig = Pick<StreamingGateway, "core" | "client" | "fake" | "close">;

function startRig(venue: BenchVenue, opts: { stream: boolean; pollIntervalMs: number; streamPollIntervalMs: number; rateLimit: { capacity: number; refillPerSecond: number } }): Promise<Rig> {
  if (venue === "alpaca" || venue === "coinbase") return startAlpacaCoinbaseGateway(venue, opts);
  return startStreamingGateway(venue, { ...opts, collect: false });
}

/** Between placements: 90/s, under the default risk limit maxOrderRate (100/s). */
const PLACE_GAP_MS = 1000 / 90;

interface Row {
  readonly venue: string;
  readonly mode: "push" | "poll";
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

async function measure(venue: BenchVenue, mode: "push" | "poll", opts: { fills: number; batch: number; rate: number; pollMs: number }): Promise<Row> {
  const g = await startRig(venue, {
    stream: mode === "push",
    pollIntervalMs: opts.pollMs,
    // While the stream is live, polling waits its long interval (the default, 30 s).
    streamPollIntervalMs: 30_000,
    // The fake venue has no budget to protect; Kraken's documented one would refuse the rounds.
    rateLimit: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
  });
  try {
    if (mode === "push") {
      const deadline = Date.now() + 10_000;
      while (g.core.userStreams()[0]?.state !== "connected") {
        if (Date.now() > deadline) throw new Error(`${venue}: stream did not connect`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const emitted = new Map<string, number>();
    const latencies: number[] = [];
    let seen = 0;
    const waiters: Array<() => void> = [];
    // Timestamped where StreamFills hands the fill to the client (the collector's own array push is
    // too late to hook; a second subscriber is cheap and exact).
    const ac = new AbortController();
    const sub = (async () => {
      try {
        for await (const m of g.client.streamFills({}, { signal: ac.signal })) {
          const at = performance.now();
          const t0 = m.fill === undefined ? undefined : emitted.get(m.fill.orderId);
          if (t0 === undefined) continue;
          emitted.delete(m.fill!.orderId);
          latencies.push(at - t0);
          seen++;
          waiters.shift()?.();
        }
      } catch {
        // aborted
      }
    })();
    let n = 0;
    while (latencies.length < opts.fills) {
      const round: Array<{ orderId: string; venueClientOrderId: string }> = [];
      const size = Math.min(opts.batch, opts.fills - latencies.length);
      for (let i = 0; i < size; i++) {
        n++;
        // Placement is not timed, but the account's order-rate risk limit (default 100/s, burst 200) refuses a faster fake (Alpaca's): keep under it.
        const placeAt = performance.now();
        const r = await g.client.placeOrder({
          clientOrderId: `fl-${mode}-${n}`,
          account: "bench",
          venue,
          symbol: "BTC-USD",
          side: Side.BUY,
          type: OrderType.LIMIT,
          timeInForce: TimeInForce.GTC,
          quantity: "1",
          price: "100",
          idempotencyKey: `fl-${mode}-${n}`,
        });
        const vo = [...g.fake.engine.orders.values()].at(-1)!;
        round.push({ orderId: r.order!.orderId, venueClientOrderId: vo.clientOrderId });
        const spare = placeAt + PLACE_GAP_MS - performance.now();
        if (spare > 0) await new Promise((r) => setTimeout(r, spare));
      }
      const before = seen;
      const gap = 1000 / opts.rate;
      let next = performance.now();
      for (const o of round) {
        // A timer, not a spin: the gateway under test shares this process's CPU. Emission is timestamped, so pacing need not be exact.
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        emitted.set(o.orderId, performance.now());
        g.fake.fill(o.venueClientOrderId, "1", "100");
        next += gap;
      }
      const deadline = Date.now() + 60_000;
      while (seen - before < round.length) {
        if (Date.now() > deadline) throw new Error(`${venue} ${mode}: ${round.length - (seen - before)} fills never arrived`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    }
    ac.abort();
    await sub;
    const s = summarize(latencies);
    return { venue, mode, n: s.n, p50: s.p50, p99: s.p99, max: s.max };
  } finally {
    await g.close();
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv.filter((x) => x !== "--fill-latency"),
    options: {
      fills: { type: "string", default: "1000" },
      batch: { type: "string", default: "50" },
      rate: { type: "string", default: "200" },
      "poll-ms": { type: "string", default: "1000" },
      venues: { type: "string", default: "binance,kraken,alpaca,coinbase" },
      modes: { type: "string", default: "push,poll" },
    },
  });
  const opts = { fills: Number(values.fills), batch: Number(values.batch), rate: Number(values.rate), pollMs: Number(values["poll-ms"]) };
  const rows: Row[] = [];
  for (const venue of values.venues.split(",") as BenchVenue[]) {
    for (const mode of values.modes.split(",") as Array<"push" | "poll">) {
      process.stderr.write(`fill latency: ${venue} ${mode} (${opts.fills} fills)...\n`);
      rows.push(await measure(venue, mode, opts));
    }
  }
  const ms = (x: number) => x.toFixed(2).padStart(9);
  process.stdout.write(`\nfill latency: venue emits the execution -> fill on StreamFills (ms); rounds of ${opts.batch} orders, fills paced at ${opts.rate}/s, poll interval ${opts.pollMs} ms\n`);
  process.stdout.write(`${"venue".padEnd(9)}${"mode".padEnd(6)}${"fills".padStart(7)}${"p50".padStart(9)}${"p99".padStart(9)}${"max".padStart(9)}\n`);
  for (const r of rows) process.stdout.write(`${r.venue.padEnd(9)}${r.mode.padEnd(6)}${String(r.n).padStart(7)}${ms(r.p50)}${ms(r.p99)}${ms(r.max)}\n`);
}
