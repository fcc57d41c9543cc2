import { test } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { TradingGateway, type StreamFillsResponse } from "../../gen/trading/v1/trading_gateway_pb.js";
import { createFillHub, type FillHub } from "../../src/use-cases/fill-hub.js";
import { createStreamFillsHandler } from "../../src/rpc/stream-fills.js";
import { principalKey } from "../../src/rpc/interceptors/context-keys.js";
import { sampleFill } from "../adapters/audit/fixtures.js";

/** Stands in for the auth interceptor: `x-accounts: a,b` (absent = any). */
const fakeAuth: Interceptor = (next) => async (req) => {
  const h = req.header.get("x-accounts");
  if (h !== null) req.contextValues.set(principalKey, { keyId: "test", accounts: new Set(h.split(",")) });
  return next(req);
};

function setup(t: { after: (fn: () => void) => void }, opts: { retain?: number; subscriberBuffer?: number } = {}) {
  const hub = createFillHub({ retain: opts.retain ?? 100, subscriberBuffer: opts.subscriberBuffer ?? 100 });
  t.after(() => hub.close());
  const transport = createRouterTransport(
    (router) => router.service(TradingGateway, { streamFills: createStreamFillsHandler({ hub }) }),
    { router: { interceptors: [fakeAuth] } },
  );
  return { hub, client: createClient(TradingGateway, transport) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

async function collect(it: AsyncIterable<StreamFillsResponse>, n: number): Promise<StreamFillsResponse[]> {
  const out: StreamFillsResponse[] = [];
  for await (const r of it) {
    out.push(r);
    if (out.length === n) break;
  }
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    return ConnectError.from(e);
  }
  assert.fail("expected an error");
}

function publishRange(hub: FillHub, from: number, to: number, account = "acct-1"): void {
  for (let i = from; i <= to; i++) hub.publish(sampleFill(BigInt(i), { account }));
}

test("resume after a sequence: retained fills, then live ones, converted to proto; client cancel unsubscribes", async (t) => {
  const { hub, client } = setup(t);
  publishRange(hub, 1, 5);
  const ac = new AbortController();
  const stream = client.streamFills({ afterSequence: 2n }, { signal: ac.signal });
  const it = stream[Symbol.asyncIterator]();
  const got: bigint[] = [];
  for (let i = 0; i < 3; i++) got.push((await it.next()).value!.fill!.sequence);
  assert.deepEqual(got, [3n, 4n, 5n]);
  const live = it.next();
  publishRange(hub, 6, 6);
  const f = (await live).value!.fill!;
  assert.equal(f.sequence, 6n);
  assert.equal(f.fillId, "f-6");
  assert.equal(f.quantity, "0.05");
  assert.equal(f.price, "65000.25");
  assert.equal(f.side, 1);
  assert.equal(f.time!.seconds, 1_767_000_000n);
  assert.equal(f.time!.nanos, 400_000_000);
  ac.abort();
  await assert.rejects(it.next(), (e: unknown) => ConnectError.from(e).code === Code.Canceled);
  await until(() => hub.subscriberCount() === 0, "the server side to unsubscribe");
});

test("the caller sees only its accounts; asking for another account is PERMISSION_DENIED", async (t) => {
  const { hub, client } = setup(t);
  publishRange(hub, 1, 2, "mine");
  publishRange(hub, 3, 4, "theirs");
  publishRange(hub, 5, 5, "mine");
  const headers = { "x-accounts": "mine" };
  const ac = new AbortController();
  const got = await collect(client.streamFills({}, { headers, signal: ac.signal }), 3);
  ac.abort();
  assert.deepEqual(got.map((r) => [r.fill!.sequence, r.fill!.account]), [[1n, "mine"], [2n, "mine"], [5n, "mine"]]);
  const denied = await codeOf(collect(client.streamFills({ account: "theirs" }, { headers }), 1));
  assert.equal(denied.code, Code.PermissionDenied);
  assert.match(denied.rawMessage, /theirs/);
  await until(() => hub.subscriberCount() === 0, "no subscription left");
});

test("bad requests: too-long filters name the field; a sequence ahead of the gateway is FAILED_PRECONDITION", async (t) => {
  const { hub, client } = setup(t);
  publishRange(hub, 1, 3);
  const e1 = await codeOf(collect(client.streamFills({ symbol: "x".repeat(200), venue: "y".repeat(129) }), 1));
  assert.equal(e1.code, Code.InvalidArgument);
  assert.match(e1.rawMessage, /symbol/);
  assert.match(e1.rawMessage, /venue/);
  const e2 = await codeOf(collect(client.streamFills({ afterSequence: 99n }), 1));
  assert.equal(e2.code, Code.FailedPrecondition);
  assert.match(e2.rawMessage, /after_sequence 99/);
});

test("a slow stream ends with RESOURCE_EXHAUSTED after what it buffered, and resuming from its last sequence loses nothing", async (t) => {
  const { hub, client } = setup(t, { subscriberBuffer: 3 });
  const stream = client.streamFills({});
  const it = stream[Symbol.asyncIterator]();
  const first = it.next();
  await until(() => hub.subscriberCount() === 1, "the subscription");
  publishRange(hub, 1, 20); // all at once: far more than the buffer
  const got: bigint[] = [(await first).value!.fill!.sequence];
  const err = await codeOf(
    (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        got.push(r.value.fill!.sequence);
      }
    })(),
  );
  assert.equal(err.code, Code.ResourceExhausted);
  assert.ok(got.length >= 1 && got.length <= 5, `got ${got.length} before the cut`);
  assert.deepEqual(got, got.map((_, i) => BigInt(i + 1)), "in order, no gap");
  const resumed = await collect(client.streamFills({ afterSequence: got.at(-1)! }), 20 - got.length);
  assert.deepEqual(resumed.map((r) => r.fill!.sequence), Array.from({ length: 20 - got.length }, (_, i) => BigInt(got.length + i + 1)));
});

test("shutdown (hub.close) ends open streams cleanly", async (t) => {
  const { hub, client } = setup(t);
  publishRange(hub, 1, 1);
  const done = collect(client.streamFills({}), 100);
  await until(() => hub.subscriberCount() === 1, "the subscription");
  hub.close();
  const got = await done;
  assert.deepEqual(got.map((r) => r.fill!.sequence), [1n]);
});
