/**
 * StreamOrderEvents over real sockets (buildApp on port 0) with a real order pipeline: events over
 * gRPC, gRPC-Web and Connect (server streaming, JSON), and cancel-on-disconnect against a real
 * HTTP/2 connection: a lost connection cancels after the grace period, a client's cancel of the
 * stream (RST_STREAM on a live connection) does not, a resume within the grace period keeps the order,
 * and a client process killed with SIGKILL (test/helpers/guarded-stream-client.ts) loses its orders.
 */
import { test } from "node:test";
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { OrderEventType, TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createOrderEventHub } from "../../src/use-cases/order-events.js";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import { startServer } from "../helpers/start-server.js";
import { createTestTradingCore, MARKET_ORDER_FIELDS } from "../helpers/trading-core.js";
import { waitFor } from "../helpers/wait-for.js";
import { createManualTimers } from "../helpers/manual-timers.js";

const protocols: Array<[string, (baseUrl: string, sm: Http2SessionManager) => Transport]> = [
  ["gRPC", (baseUrl, sessionManager) => createGrpcTransport({ baseUrl, sessionManager })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" })],
  ["Connect JSON", (baseUrl, sessionManager) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager, useBinaryFormat: false })],
];

async function setup(t: { after: (fn: () => Promise<void> | void) => void }) {
  const hub = createOrderEventHub({ retain: 1000, subscriberBuffer: 100 });
  const timers = createManualTimers();
  const core = createTestTradingCore({ orderEvents: hub, disconnectTimers: timers });
  const srv = await startServer({ trading: core.core.service });
  const managers: Http2SessionManager[] = [];
  t.after(async () => {
    hub.close();
    for (const m of managers) m.abort();
    await srv.close();
  });
  const connect = (make: (typeof protocols)[number][1]): { client: Client<typeof TradingGateway>; sm: Http2SessionManager } => {
    const sm = new Http2SessionManager(srv.baseUrl);
    managers.push(sm);
    return { client: createClient(TradingGateway, make(srv.baseUrl, sm)), sm };
  };
  return { hub, timers, core, connect, baseUrl: srv.baseUrl };
}

const restingOrder = (clientOrderId: string) => ({ ...MARKET_ORDER_FIELDS, clientOrderId, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "1" });

for (const [name, make] of protocols) {
  test(`${name}: every recorded change of an order arrives in sequence, then resumes after a sequence`, async (t) => {
    const { connect } = await setup(t);
    const { client } = connect(make);
    const ac = new AbortController();
    const it = client.streamOrderEvents({ account: "acct-1" }, { signal: ac.signal })[Symbol.asyncIterator]();
    const first = it.next();
    const placed = await client.placeOrder(restingOrder("e1"));
    await client.cancelOrder({ orderId: placed.order!.orderId });
    const got = [(await first).value!.event!];
    for (let i = 0; i < 3; i++) got.push((await it.next()).value!.event!);
    ac.abort();
    assert.deepEqual(got.map((e) => e.type), [OrderEventType.ACCEPTED, OrderEventType.NEW, OrderEventType.CANCEL_REQUESTED, OrderEventType.CANCELED]);
    assert.deepEqual(got.map((e) => e.sequence), [1n, 2n, 3n, 4n]);
    assert.equal(got[3]!.order!.status, OrderStatus.CANCELED);
    const resumed: bigint[] = [];
    const ac2 = new AbortController();
    for await (const r of client.streamOrderEvents({ afterSequence: 2n }, { signal: ac2.signal })) {
      resumed.push(r.event!.sequence);
      if (resumed.length === 2) break;
    }
    assert.deepEqual(resumed, [3n, 4n]);
  });
}

test("cancel-on-disconnect: a lost HTTP/2 connection cancels the account's orders after the grace period, with the reason", async (t) => {
  const { connect, core, timers, hub } = await setup(t);
  const { client, sm } = connect(protocols[0]![1]);
  const placed = await client.placeOrder(restingOrder("d1"));
  const stream = client.streamOrderEvents({ account: "acct-1", cancelOnDisconnect: { sessionId: "bot-1", graceMs: 1000 } })[Symbol.asyncIterator]();
  await stream.next(); // open on the server
  sm.abort(); // the connection dies (as with a killed client)
  await waitFor(() => core.core.cancelOnDisconnect!.pendingCount() === 1, { what: "grace period started" });
  timers.fireAll();
  await waitFor(() => core.core.orders.get(placed.order!.orderId)?.status === OrderStatus.CANCELED, { what: "order canceled" });
  const canceled = core.audit.events.find((e) => e.type === "order_canceled" && e.order?.orderId === placed.order!.orderId);
  assert.equal(canceled?.reason, "cancel-on-disconnect session bot-1");
  const { client: again } = connect(protocols[0]![1]);
  const seen: { type: OrderEventType; reason: string }[] = [];
  for await (const r of again.streamOrderEvents({ afterSequence: 2n })) {
    seen.push({ type: r.event!.type, reason: r.event!.reason });
    if (r.event!.sequence === hub.lastPublished()) break;
  }
  assert.deepEqual(seen.at(-1), { type: OrderEventType.CANCELED, reason: "cancel-on-disconnect session bot-1" });
});

test("cancel-on-disconnect: a client's cancel of the stream (RST_STREAM, connection alive) cancels nothing; a resume within grace keeps the orders", async (t) => {
  const { connect, core, timers, hub } = await setup(t);
  const { client, sm } = connect(protocols[0]![1]);
  const placed = await client.placeOrder(restingOrder("k1"));
  const ac = new AbortController();
  const stream = client.streamOrderEvents({ account: "acct-1", cancelOnDisconnect: { sessionId: "bot-2" } }, { signal: ac.signal })[Symbol.asyncIterator]();
  await stream.next();
  ac.abort();
  await waitFor(() => hub.subscriberCount() === 0, { what: "stream ended on the server" });
  // The lease is ended once the server has seen the HTTP/2 stream close: give that a few turns.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(core.core.cancelOnDisconnect!.pendingCount(), 0, "clean close: no grace period");

  // Lost connection, then the same session resumes on a new one before the grace period ends.
  const s2 = client.streamOrderEvents({ account: "acct-1", cancelOnDisconnect: { sessionId: "bot-2" } })[Symbol.asyncIterator]();
  await s2.next();
  sm.abort();
  await waitFor(() => core.core.cancelOnDisconnect!.pendingCount() === 1, { what: "grace period started" });
  const { client: c2 } = connect(protocols[0]![1]);
  const ac3 = new AbortController();
  const s3 = c2.streamOrderEvents({ account: "acct-1", cancelOnDisconnect: { sessionId: "bot-2" } }, { signal: ac3.signal })[Symbol.asyncIterator]();
  await s3.next();
  assert.equal(core.core.cancelOnDisconnect!.pendingCount(), 0, "resumed");
  timers.fireAll();
  assert.equal(core.core.orders.get(placed.order!.orderId)?.status, OrderStatus.NEW);
  ac3.abort();
});

test("cancel-on-disconnect after a client SIGKILL: the client process dies with an order open; after the grace period it is CANCELED", async (t) => {
  const { core, timers, connect, baseUrl } = await setup(t);
  const { client } = connect(protocols[0]![1]);
  const placed = await client.placeOrder(restingOrder("k9"));
  const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/guarded-stream-client.ts", baseUrl, "acct-1", "killed-bot"], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => void child.kill("SIGKILL"));
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
  await waitFor(() => out.startsWith("ready"), { what: "client stream open", timeoutMs: 60_000 });
  child.kill("SIGKILL");
  await waitFor(() => core.core.cancelOnDisconnect!.pendingCount() === 1, { what: "grace period started" });
  timers.fireAll();
  await waitFor(() => core.core.orders.get(placed.order!.orderId)?.status === OrderStatus.CANCELED, { what: "order canceled" });
  assert.equal(core.audit.events.find((e) => e.type === "order_canceled")?.reason, "cancel-on-disconnect session killed-bot");
});
