/**
 * The gRPC stream fast path (src/server/fast-path/stream-fast-path.ts) over real sockets: the
 * events of one moment leave in one write, and a client that does not read is cut off with
 * RESOURCE_EXHAUSTED (and a resume hint) while the server stops encoding for it, instead of
 * buffering without bound. The behaviour shared with connect's path (filters, resume, lease,
 * shutdown) is tested over every protocol in test/rpc/stream-order-events-e2e.test.ts.
 */
import assert from "node:assert/strict";
import { connect as h2connect } from "node:http2";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { equals } from "@bufbuild/protobuf";
import { OrderEventSchema, TradingGateway } from "../../../gen/trading/v1/trading_gateway_pb.js";
import { toProtoOrderEvent } from "../../../src/rpc/order-event-mapping.js";
import type { FastPathStats } from "../../../src/server/fast-path/install-fast-path.js";
import { createOrderEventHub, type OrderEvent, type OrderEventHub } from "../../../src/use-cases/order-events.js";
import { sampleFill, sampleOrder } from "../../adapters/audit/fixtures.js";
import { startServer } from "../../helpers/start-server.js";
import { createTestTradingCore } from "../../helpers/trading-core.js";
import { waitFor } from "../../helpers/wait-for.js";

const ON = process.env["FAST_PATH"] !== "off";

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, subscriberBuffer: number) {
  const hub = createOrderEventHub({ retain: 1000, subscriberBuffer });
  const core = createTestTradingCore({ orderEvents: hub });
  const srv = await startServer({ trading: core.core.service });
  t.after(async () => {
    hub.close();
    await srv.close();
  });
  const stats = (srv.app as unknown as { fastPath?: FastPathStats }).fastPath?.streams ?? { streams: 0, messages: 0, writes: 0, direct: 0 };
  return { hub, srv, stats };
}

function publish(hub: OrderEventHub, n: number, reason = "r"): void {
  for (let i = 0; i < n; i++) {
    hub.publish({ sequence: hub.nextSequence(), kind: "reconciled", timeMs: 1_796_000_000_000 + i, account: "acct-1", venue: "paper", symbol: "BTC-USD", reason });
  }
}

/** A gRPC StreamOrderEvents client of acct-1's events, once the hub has it live; `close` ends it. */
async function subscribe(srv: { baseUrl: string }, hub: OrderEventHub) {
  const sm = new Http2SessionManager(srv.baseUrl);
  const client = createClient(TradingGateway, createGrpcTransport({ baseUrl: srv.baseUrl, sessionManager: sm }));
  const ac = new AbortController();
  const it = client.streamOrderEvents({ account: "acct-1" }, { signal: ac.signal })[Symbol.asyncIterator]();
  const first = it.next();
  await waitFor(() => hub.subscriberCount() === 1 && hub.stats().live === 1, { what: "the subscriber is live" });
  /** The next `n` events, the first one included. */
  const take = async (n: number) => {
    const got = [(await first).value!.event!];
    for (let i = 1; i < n; i++) got.push((await it.next()).value!.event!);
    return got;
  };
  const close = (): void => {
    ac.abort();
    sm.abort();
  };
  return { take, close };
}

/**
 * The next `n` events are the `n` after `start`, in order, written as `n` messages in at most two
 * writes since the stats were `[messages, writes]`; then the client closes.
 */
async function expectNextInOrder(events: Awaited<ReturnType<typeof subscribe>>, stats: FastPathStats["streams"], start: bigint, n: number, [m0, w0]: readonly [number, number]): Promise<void> {
  const got = (await events.take(n)).map((e) => e.sequence);
  events.close();
  assert.deepEqual(got, Array.from({ length: n }, (_, i) => start + 1n + BigInt(i)));
  assert.equal(stats.messages - m0, n);
  assert.ok(stats.writes - w0 <= 2, `${n} events in ${stats.writes - w0} writes`);
}

test("the events published in one turn leave in one write, all of them, in order", { skip: !ON && "FAST_PATH=off" }, async (t) => {
  const { hub, srv, stats } = await setup(t, 1000);
  const events = await subscribe(srv, hub);
  assert.equal(stats.streams, 1, "served by the stream fast path");
  const [m0, w0] = [stats.messages, stats.writes];
  const start = hub.lastPublished();
  publish(hub, 200);
  await expectNextInOrder(events, stats, start, 200, [m0, w0]);
});

test("a burst published within one turn, larger than the subscriber buffer, is delivered whole: the stream is not cut off", { skip: !ON && "FAST_PATH=off" }, async (t) => {
  // Many clients' orders read in one poll phase publish in one turn; the writer takes them all at
  // that turn's check phase, so the buffer (here 20) bounds a consumer that does not read, not one turn.
  const { hub, srv, stats } = await setup(t, 20);
  const events = await subscribe(srv, hub);
  const [m0, w0] = [stats.messages, stats.writes];
  const start = hub.lastPublished();
  // Two bursts: the first wakes the idle writer, the second comes while its batch gathers. Were the
  // stream cut off, take() would fail with RESOURCE_EXHAUSTED after the first 20.
  publish(hub, 150);
  await Promise.resolve();
  publish(hub, 150);
  await expectNextInOrder(events, stats, start, 300, [m0, w0]);
});

test("events with an order, a fill and a position are written straight from the domain event, as the mapping makes them", { skip: !ON && "FAST_PATH=off" }, async (t) => {
  const { hub, srv, stats } = await setup(t, 1000);
  const events = await subscribe(srv, hub);
  const d0 = stats.direct;
  const order = sampleOrder({ account: "acct-1", replacedClientOrderIds: ["c-0"] });
  const position = { account: "acct-1", venue: "paper", symbol: "BTC-USD", quantity: "-1.5", averageEntryPrice: "65000", realizedPnl: "1", fees: "0.1", otherFees: { BNB: "0.2" }, updatedAtMs: 1_796_000_000_123, lastFillSequence: 3n, openCost: "97500", openQuantity: "1.5" };
  const base = { timeMs: 1_796_000_000_007, account: "acct-1", venue: "paper", symbol: "BTC-USD", reason: "" };
  const published: OrderEvent[] = [
    { ...base, kind: "accepted", order, sequence: hub.nextSequence() },
    { ...base, kind: "fill", order, fill: sampleFill(3n, { account: "acct-1" }), sequence: hub.nextSequence() },
    { ...base, kind: "position_updated", position, sequence: hub.nextSequence() },
    // Outside what the direct encoder writes (a time before 1970): mapped and encoded as before.
    { ...base, kind: "reconciled", timeMs: -5, reason: "old", sequence: hub.nextSequence() },
  ];
  for (const e of published) hub.publish(e);
  const got = await events.take(published.length);
  events.close();
  for (let i = 0; i < published.length; i++) assert.ok(equals(OrderEventSchema, got[i]!, toProtoOrderEvent(published[i]!)), `event ${published[i]!.kind}`);
  assert.equal(stats.direct - d0, 3, "every event but the one before 1970 written directly");
});

test("a client that does not read: the server stops encoding for it, and it gets RESOURCE_EXHAUSTED with a resume hint", { skip: !ON && "FAST_PATH=off" }, async (t) => {
  const { hub, srv, stats } = await setup(t, 50);
  const session = h2connect(srv.baseUrl);
  t.after(() => session.destroy());
  const req = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/StreamOrderEvents", "content-type": "application/grpc", te: "trailers" });
  req.end(Buffer.alloc(5)); // one empty StreamOrderEventsRequest: every event the caller may see
  req.pause(); // read nothing: no WINDOW_UPDATE, the stream's window fills
  let trailers: Record<string, unknown> | undefined;
  req.on("trailers", (h) => (trailers = h));
  await waitFor(() => hub.subscriberCount() === 1 && hub.stats().live === 1, { what: "the subscriber is live" });
  const m0 = stats.messages;
  // 2,000 events of about 2 KB, 50 per turn: 4 MB the client never reads.
  const reason = "x".repeat(2000);
  for (let i = 0; i < 40 && hub.subscriberCount() > 0; i++) {
    publish(hub, 50, reason);
    await nextTurn();
  }
  await waitFor(() => hub.subscriberCount() === 0, { what: "the hub cut the subscriber off" });
  const encoded = stats.messages - m0;
  // What is encoded is bounded by the window, the write buffer and one batch, not by what was published.
  assert.ok(encoded < 400, `encoded ${encoded} of up to 2,000 events for a client that reads nothing`);
  let received = 0;
  req.on("data", (c: Buffer) => (received += c.byteLength));
  req.resume();
  await waitFor(() => trailers !== undefined, { what: "the trailers" });
  assert.equal(trailers!["grpc-status"], "8", JSON.stringify(trailers));
  assert.match(String(trailers!["grpc-message"]), /fell behind/);
  // The resume hint, in the ErrorInfo of grpc-status-details-bin, as on connect's path.
  assert.match(Buffer.from(String(trailers!["grpc-status-details-bin"]), "base64").toString("latin1"), /resume_after_sequence/);
  assert.ok(received > 0);
});

test("a stream whose grpc-timeout passes ends, its subscription released, with the status connect's path gives (OK: the client's own deadline reports DEADLINE_EXCEEDED)", async (t) => {
  const { hub, srv } = await setup(t, 50);
  const session = h2connect(srv.baseUrl);
  t.after(() => session.destroy());
  const req = session.request({ ":method": "POST", ":path": "/trading.v1.TradingGateway/StreamOrderEvents", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "300m" });
  req.end(Buffer.alloc(5));
  let trailers: Record<string, unknown> | undefined;
  req.on("trailers", (h) => (trailers = h));
  req.resume();
  await waitFor(() => hub.subscriberCount() === 1, { what: "subscribed" });
  await waitFor(() => trailers !== undefined, { what: "the trailers" });
  assert.equal(trailers!["grpc-status"], "0", JSON.stringify(trailers));
  await waitFor(() => hub.subscriberCount() === 0, { what: "unsubscribed" });
});
