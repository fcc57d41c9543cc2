/**
 * What the order path costs without a transport: the gateway built as main builds it (settings
 * from the environment, the composition root, the audit log, recovery, the paper venue), and
 * PlaceOrder called on its TradingGateway service in process, in rounds of `--in-flight` calls,
 * the requests compare.sh's load generator sends (market orders, 16 accounts, a unique client
 * order id each). No HTTP/2, no interceptors (auth, rate limit, access line, metrics of the
 * RPC), no response encoding: subtract this from the server's CPU per call (compare.sh, or
 * `bench/run.ts`) to see what the transport and the RPC edge cost.
 *
 * Prints CPU per call (process.cpuUsage, every thread), wall time per call, and what the
 * garbage collector did (PerformanceObserver), for the measured window after a warm-up.
 *
 *   AUDIT_FILE=$(mktemp) AUDIT_MODE=buffered PAPER_MARKET=fixed RISK_LIMITS_FILE=bench/risk-limits.yaml \
 *     node_modules/.bin/node --max-semi-space-size=8 --v8-pool-size=1 --import tsx bench/order-path.ts \
 *     [--calls 60000] [--warmup 20000] [--in-flight 64] [--dist DIR]
 *
 * `--dist DIR` runs a compiled build (DIR/src/...) instead of the sources, to compare builds.
 *
 * `--events` then measures what a StreamOrderEvents subscriber costs per event (issue 20): it takes
 * the events of 3,840 more orders from the order-event hub and times, per event, their mapping to
 * the wire's OrderEvent (`toProtoOrderEvent`), their encoding by the gRPC stream fast path's encoder,
 * and both, as a subscriber's stream did them before the direct encoder; then `directUsPerEvent`:
 * the direct encoder's (order-event-encoder.ts) writing of the domain events, what a subscriber's
 * stream does now when the build has it, and `directUsByKind`: the same per event of each kind.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { create } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { Registry } from "prom-client";
import pino from "pino";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "60000" },
    warmup: { type: "string", default: "20000" },
    "in-flight": { type: "string", default: "64" },
    dist: { type: "string" },
    events: { type: "boolean", default: false },
  },
});
const calls = Number(values.calls);
const warmup = Number(values.warmup);
const inFlight = Number(values["in-flight"]);


// The sources, or a compiled build's copy of the same modules.
const base = values.dist !== undefined ? pathToFileURL(resolve(values.dist, "src") + "/").href : new URL("../src/", import.meta.url).href;
const genBase = values.dist !== undefined ? pathToFileURL(resolve(values.dist, "gen") + "/").href : new URL("../gen/", import.meta.url).href;
const { loadConfig } = await import(base + "config/env.js");
const { loadGatewayConfig } = await import(base + "config/gateway-config.js");
const { VENUE_KINDS } = await import(base + "adapters/venues/registry.js");
const { createGateway } = await import(base + "composition-root.js");
const { createHealthRegistry, ServingStatus } = await import(base + "server/health.js");
const pb = await import(genBase + "trading/v1/trading_gateway_pb.js");

const loaded = loadConfig(process.env, {});
if (!loaded.ok) throw new Error(loaded.error.map((i: { message: string }) => i.message).join("; "));
const gatewayConfig = loadGatewayConfig(loaded.value, { env: process.env, venueKinds: VENUE_KINDS });
if (!gatewayConfig.ok) throw new Error(gatewayConfig.error.join("; "));
const logger = pino({ level: loaded.value.logLevel }, pino.destination({ dest: "/dev/null", sync: false }));
const shutdown = new AbortController();
const gateway = await createGateway({
  config: gatewayConfig.value,
  logger,
  health: createHealthRegistry({ "": ServingStatus.SERVING }),
  registry: new Registry(),
  shutdownSignal: shutdown.signal,
  prefaultRetention: true,
});

const method = pb.TradingGateway.method.placeOrder;
const service = pb.TradingGateway;
let next = 0;
function request(worker: number): unknown {
  next++;
  return create(pb.PlaceOrderRequestSchema, {
    clientOrderId: `bench-${process.pid}-${next}`,
    account: `acct-${worker % 16}`,
    venue: "paper",
    symbol: "BTC-USD",
    quantity: "1.5",
    side: worker % 2 === 1 ? pb.Side.SELL : pb.Side.BUY,
    type: pb.OrderType.MARKET,
    timeInForce: pb.TimeInForce.IOC,
  });
}
function context() {
  return createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: "http://localhost/trading.v1.TradingGateway/PlaceOrder",
  });
}

// Rounds of `inFlight` calls started together, as the server's fast path starts the calls of one
// event-loop turn (CALL_BATCHING), then a turn of the loop: the audit log's writes and timers run
// between rounds as they do between a server's turns (without it the paper venue's answers would
// keep every call in microtasks, and the audit log would never write).
async function run(total: number): Promise<void> {
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  for (let done = 0; done < total; ) {
    const n = Math.min(inFlight, total - done);
    const answers = new Array<Promise<unknown>>(n);
    for (let w = 0; w < n; w++) answers[w] = gateway.trading.placeOrder!(request(w) as never, context());
    for (const res of await Promise.all(answers)) {
      if ((res as { order?: { status: number } }).order?.status !== pb.OrderStatus.FILLED) throw new Error(`unexpected answer: ${JSON.stringify(res)}`);
    }
    done += n;
    await turn();
  }
}

await run(warmup);
let gcMs = 0;
let gcs = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcs++;
  }
});
obs.observe({ type: "gc" });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(calls);
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setTimeout(r, 20));
obs.disconnect();
const perCall = (us: number): string => (us / calls).toFixed(1);
console.log(
  JSON.stringify({
    calls,
    inFlight,
    cpuUsPerCall: Number(perCall(cpu.user + cpu.system)),
    userUsPerCall: Number(perCall(cpu.user)),
    wallUsPerCall: Number(perCall(wall * 1000)),
    gcUsPerCall: Number(perCall(gcMs * 1000)),
    gcs,
  }),
);
if (values.events) await measureEvents();
shutdown.abort();
await gateway.close();

/** `--events`: a subscriber's mapping and encoding per event (see the header). */
async function measureEvents(): Promise<void> {
  const { toProtoOrderEvent } = await import(base + "rpc/order-event-mapping.js");
  const { createStreamMessageEncoder, Writer } = await import(base + "server/fast-path/stream-message-encoder.js");
  // From now: the events of the orders below, without the history (which is on disk by now).
  const sub = gateway.orderEvents.subscribe({ allowedAccounts: "any", afterSequence: gateway.orderEvents.lastPublished() });
  const events: unknown[] = [];
  for (let round = 0; round < 60; round++) {
    await run(inFlight);
    for (let e = sub.poll(); e !== undefined; e = sub.poll()) events.push(e);
  }
  sub.close();
  const encoder = createStreamMessageEncoder(pb.StreamOrderEventsResponseSchema);
  if (encoder === undefined) throw new Error("no stream encoder for StreamOrderEventsResponse");
  const toMessage = (e: unknown): object => ({ $typeName: "trading.v1.StreamOrderEventsResponse", event: toProtoOrderEvent(e) });
  const mapped = events.map(toMessage);
  const w = new Writer();
  let directUsPerEvent: number | undefined;
  const directModule = await import(base + "server/fast-path/order-event-encoder.js").catch(() => undefined);
  const direct = directModule?.createOrderEventEncoder(pb.StreamOrderEventsResponseSchema);
  const appendDirect = (e: unknown): void => {
    if (w.pos > 1 << 20) w.pos = 0;
    if (!direct.appendEnvelope(w, e)) throw new Error("the direct encoder gave an event up");
  };
  const append = (m: object): void => {
    if (w.pos > 1 << 20) w.pos = 0;
    if (!encoder.appendEnvelope(w, m)) throw new Error("the stream encoder gave an event up");
  };
  const usPerEvent = (fn: () => void): number => {
    for (let i = 0; i < 20; i++) fn();
    const start = performance.now();
    for (let i = 0; i < 200; i++) fn();
    return Number((((performance.now() - start) * 1000) / 200 / events.length).toFixed(3));
  };
  let directUsByKind: Record<string, number> | undefined;
  if (direct !== undefined) {
    directUsPerEvent = usPerEvent(() => { for (const e of events) appendDirect(e); });
    // Per kind (each kind's events alone, per event of that kind): where a subscriber's cost is.
    directUsByKind = {};
    const all = events.splice(0);
    for (const kind of new Set(all.map((e) => (e as { kind: string }).kind))) {
      events.push(...all.filter((e) => (e as { kind: string }).kind === kind));
      directUsByKind[`${kind}×${events.length}`] = usPerEvent(() => { for (const e of events) appendDirect(e); });
      events.length = 0;
    }
    events.push(...all);
  }
  console.log(
    JSON.stringify({
      events: events.length,
      directUsPerEvent,
      directUsByKind,
      mapUsPerEvent: usPerEvent(() => { for (const e of events) toMessage(e); }),
      encodeUsPerEvent: usPerEvent(() => { for (const m of mapped) append(m); }),
      bothUsPerEvent: usPerEvent(() => { for (const e of events) append(toMessage(e)); }),
    }),
  );
}
