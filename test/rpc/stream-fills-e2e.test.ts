/**
 * StreamFills over real sockets (the app from buildApp on port 0), gRPC and Connect:
 * resume from a sequence, live fills, and a slow reader that HTTP/2 flow control holds back
 * until its bounded buffer overflows and the stream ends with RESOURCE_EXHAUSTED.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { TradingGateway } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createFillHub, type FillHub } from "../../src/use-cases/fill-hub.js";
import { createStreamFillsHandler } from "../../src/rpc/stream-fills.js";
import { startServer } from "../helpers/start-server.js";
import { createFakeTradingService } from "../helpers/fake-trading-service.js";
import { sampleFill } from "../adapters/audit/fixtures.js";

const protocols: Array<[string, (baseUrl: string, sm: Http2SessionManager) => Transport]> = [
  ["gRPC", (baseUrl, sessionManager) => createGrpcTransport({ baseUrl, sessionManager })],
  ["Connect", (baseUrl, sessionManager) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager })],
];

async function setup(t: { after: (fn: () => Promise<void> | void) => void }, subscriberBuffer: number, make: (typeof protocols)[number][1]) {
  const hub = createFillHub({ retain: 100_000, subscriberBuffer });
  const shutdown = new AbortController();
  // The real StreamFills; the fake's other methods are never called here.
  const fake = createFakeTradingService();
  const srv = await startServer({ trading: { ...fake.service, streamFills: createStreamFillsHandler({ hub, shutdownSignal: shutdown.signal }) } });
  const sm = new Http2SessionManager(srv.baseUrl);
  t.after(async () => {
    shutdown.abort();
    hub.close();
    sm.abort();
    await srv.close();
  });
  const client: Client<typeof TradingGateway> = createClient(TradingGateway, make(srv.baseUrl, sm));
  return { hub, client, shutdown };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function publish(hub: FillHub, from: number, to: number): void {
  for (let i = from; i <= to; i++) hub.publish(sampleFill(BigInt(i), { clientOrderId: `c-${i}-${"x".repeat(400)}` }));
}

for (const [name, make] of protocols) {
  test(`${name}: resume after a sequence, then live fills; shutdown ends the stream with UNAVAILABLE`, async (t) => {
    const { hub, client, shutdown } = await setup(t, 100, make);
    publish(hub, 1, 10);
    const it = client.streamFills({ afterSequence: 7n })[Symbol.asyncIterator]();
    const got: bigint[] = [];
    for (let i = 0; i < 3; i++) got.push((await it.next()).value!.fill!.sequence);
    assert.deepEqual(got, [8n, 9n, 10n]);
    const live = it.next();
    publish(hub, 11, 11);
    assert.equal((await live).value!.fill!.sequence, 11n);
    shutdown.abort();
    // Not an OK end: a fill stream never ends by itself, so the client is told to resume elsewhere.
    const end = await it.next().then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(end?.code, Code.Unavailable);
    assert.match(end.rawMessage, /shutting down; reconnect and resume with after_sequence/);
  });

  test(`${name}: a reader held back by flow control overflows its buffer, gets RESOURCE_EXHAUSTED, and resumes without gap`, async (t) => {
    const { hub, client } = await setup(t, 8, make);
    const it = client.streamFills({})[Symbol.asyncIterator]();
    const first = it.next();
    await until(() => hub.subscriberCount() === 1, "the subscription");
    // Small waves (half the buffer), each published once the server has taken the previous one,
    // so the server writes until HTTP/2 flow control stops it (nobody reads): the overflow then
    // comes from the stalled stream, not from a burst.
    const total = 1500;
    for (let i = 1; i <= total && hub.subscriberCount() > 0; i += 4) {
      publish(hub, i, Math.min(total, i + 3));
      const deadline = Date.now() + 50; // a stalled stream never drains: go on publishing
      while (hub.stats().maxQueued > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    }
    publish(hub, Number(hub.lastPublished()) + 1, total);
    const got: bigint[] = [(await first).value!.fill!.sequence];
    let code: Code | undefined;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        got.push(r.value.fill!.sequence);
      }
    } catch (e) {
      code = ConnectError.from(e).code;
    }
    assert.equal(code, Code.ResourceExhausted);
    assert.ok(got.length < total, `cut off after ${got.length} fills`);
    t.diagnostic(`cut off after ${got.length} of ${total} fills`);
    assert.deepEqual(got, got.map((_, i) => BigInt(i + 1)), "what arrived is in order, without gap");
    const rest: bigint[] = [];
    const ac = new AbortController();
    for await (const r of client.streamFills({ afterSequence: got.at(-1)! }, { signal: ac.signal })) {
      rest.push(r.fill!.sequence);
      if (rest.length === total - got.length) break;
    }
    ac.abort();
    assert.equal(rest[0], got.at(-1)! + 1n);
    assert.equal(rest.at(-1), BigInt(total));
  });
}
