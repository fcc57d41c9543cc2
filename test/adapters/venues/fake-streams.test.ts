import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { after, test } from "node:test";
import { WebSocket } from "ws";
import { alpacaAuthMessage, alpacaListenMessage, parseAlpacaStreamMessage } from "../../../src/adapters/venues/alpaca/stream.js";
import { coinbaseSubscribeMessage, parseCoinbaseStreamMessage } from "../../../src/adapters/venues/coinbase/stream.js";
import { OrderStatus } from "../../../src/domain/order.js";
import { alpacaDialect } from "../../helpers/fake-venues/alpaca.js";
import { startFakeAlpacaStream } from "../../helpers/fake-venues/alpaca-stream.js";
import { coinbaseDialect } from "../../helpers/fake-venues/coinbase.js";
import { startFakeCoinbaseStream } from "../../helpers/fake-venues/coinbase-stream.js";
import { startFakeVenue } from "../../helpers/fake-venues/fake-venue-server.js";

// The fake venue streams check authentication the way the venues document it; these tests drive
// them with a bare `ws` client and the gateway's own message builders.

interface Client {
  readonly frames: Array<{ text: string; binary: boolean }>;
  readonly closed: Promise<number>;
  send(s: string): void;
  waitFor(pred: (text: string) => boolean, ms?: number): Promise<string>;
  close(): void;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const frames: Array<{ text: string; binary: boolean }> = [];
  ws.on("message", (d, binary) => frames.push({ text: Buffer.from(d as Buffer).toString("utf8"), binary }));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    frames,
    closed,
    send: (s) => ws.send(s),
    async waitFor(pred, ms = 2_000) {
      const until = Date.now() + ms;
      for (;;) {
        const f = frames.find((x) => pred(x.text));
        if (f) return f.text;
        if (Date.now() > until) throw new Error(`no such frame in ${JSON.stringify(frames.map((x) => x.text))}`);
        await new Promise((r) => setImmediate(r));
      }
    },
    close: () => ws.terminate(),
  };
}

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("alpaca: wrong secret is refused and hung up on; listen before auth is unauthorized; then a fill arrives in a binary frame", async () => {
  const venue = await startFakeVenue(alpacaDialect("AK", "SK"));
  const stream = await startFakeAlpacaStream(venue.engine, "AK", "SK");
  cleanups.push(() => venue.close(), () => stream.close());

  const bad = await connect(stream.url);
  bad.send(alpacaAuthMessage({ keyId: "AK", secretKey: "wrong" }));
  await bad.waitFor((t) => t.includes('"unauthorized"'));
  assert.equal(await bad.closed, 1008);

  const c = await connect(stream.url);
  c.send(alpacaListenMessage());
  assert.deepEqual(JSON.parse(await c.waitFor((t) => t.includes("authorization"))), { stream: "authorization", data: { status: "unauthorized", action: "listen" } });
  c.send(alpacaAuthMessage({ keyId: "AK", secretKey: "SK" }));
  await c.waitFor((t) => t.includes('"authorized"'));
  c.send(alpacaListenMessage());
  assert.deepEqual(JSON.parse(await c.waitFor((t) => t.includes("listening"))), { stream: "listening", data: { streams: ["trade_updates"] } });

  const o = venue.placeExternal({ clientOrderId: "c-1", symbol: "AAPL", side: "BUY", type: "limit", quantity: "2", price: "10" });
  venue.fill("c-1", "2", "10");
  stream.push(o, "fill");
  await c.waitFor((t) => t.includes('"stream":"trade_updates"'));
  const f = c.frames.find((x) => x.text.includes('"stream":"trade_updates"'))!;
  assert.equal(f.binary, true, "paper-style binary frame");
  const parsed = parseAlpacaStreamMessage(new TextEncoder().encode(f.text));
  assert.ok(parsed.ok && parsed.value.kind === "order");
  assert.equal(parsed.value.event, "fill");
  assert.notEqual(parsed.value.executionId, "");
  assert.deepEqual(parsed.value.order.update, { status: OrderStatus.FILLED, venueOrderId: o.venueOrderId, filledQuantity: "2", averageFillPrice: "10", fills: [] });
  assert.deepEqual(stream.auths, { ok: 1, refused: 1 });
  c.close();
});

test("coinbase: a fresh JWT per subscribe is accepted; reused, expired, foreign-key JWTs are refused; snapshot then updates with sequence numbers", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const keyName = "organizations/o/apiKeys/k";
  const key = createPrivateKey(privateKey.export({ type: "sec1", format: "pem" }).toString());
  const venue = await startFakeVenue(coinbaseDialect(keyName, publicKey));
  const stream = await startFakeCoinbaseStream(venue.engine, keyName, publicKey, { heartbeatMs: 20 });
  cleanups.push(() => venue.close(), () => stream.close());
  const o = venue.placeExternal({ clientOrderId: "c-1", symbol: "BTC-USD", side: "BUY", type: "limit_limit_gtc", quantity: "1", price: "100" });

  const c = await connect(stream.url);
  const first = coinbaseSubscribeMessage("user", { keyName, key }, Date.now(), "n-1");
  c.send(first);
  const snap = parseCoinbaseStreamMessage(await c.waitFor((t) => t.includes('"snapshot"')));
  assert.ok(snap.ok && snap.value.kind === "orders" && snap.value.snapshot);
  assert.deepEqual(snap.value.orders.map((x) => x.venueOrderId), [o.venueOrderId]);
  assert.equal(snap.value.sequence, 1, "subscriptions was 0");

  c.send(first);
  await c.waitFor((t) => t.includes("jwt reused"));
  c.send(coinbaseSubscribeMessage("heartbeats", { keyName, key }, Date.now() - 121_000, "n-2"));
  await c.waitFor((t) => t.includes("expired"));
  c.send(coinbaseSubscribeMessage("heartbeats", { keyName, key: other }, Date.now(), "n-3"));
  await c.waitFor((t) => t.includes("bad signature"));
  stream.clockOffsetMs = 121_000;
  c.send(coinbaseSubscribeMessage("heartbeats", { keyName, key }, Date.now(), "n-4"));
  await c.waitFor((t) => (t.match(/expired/g) ?? []).length > 0 && c.frames.filter((x) => x.text.includes("expired")).length === 2);
  stream.clockOffsetMs = 0;
  c.send(coinbaseSubscribeMessage("heartbeats", { keyName, key }, Date.now(), "n-5"));
  await c.waitFor((t) => t.includes('"heartbeat_counter":1'));
  assert.deepEqual(stream.auths.reasons, ["jwt reused", "expired", "bad signature", "expired"]);

  venue.fill("c-1", "0.4", "100");
  stream.push(o);
  const upd = parseCoinbaseStreamMessage(await c.waitFor((t) => t.includes('"update"')));
  assert.ok(upd.ok && upd.value.kind === "orders");
  assert.equal(upd.value.orders[0]!.update.filledQuantity, "0.4");
  assert.equal(upd.value.orders[0]!.update.cumulativeFee, "0.24");
  // Sequence numbers run over every message of the connection, heartbeats included.
  const seqs = c.frames.map((f) => JSON.parse(f.text) as { sequence_num?: number }).filter((m) => m.sequence_num !== undefined).map((m) => m.sequence_num!);
  assert.deepEqual(seqs, seqs.map((_, i) => i));
  c.close();
});

test("coinbase: no subscribe within the deadline closes the connection; without heartbeats an idle connection is closed", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const keyName = "organizations/o/apiKeys/k";
  const key = createPrivateKey(privateKey.export({ type: "sec1", format: "pem" }).toString());
  const venue = await startFakeVenue(coinbaseDialect(keyName, publicKey));
  const stream = await startFakeCoinbaseStream(venue.engine, keyName, publicKey, { subscribeWithinMs: 50, idleCloseMs: 80 });
  cleanups.push(() => venue.close(), () => stream.close());
  const silent = await connect(stream.url);
  assert.equal(await silent.closed, 1008);
  // A machine under load may take longer than 50 ms to subscribe: the idle case gets its own fake.
  const relaxed = await startFakeCoinbaseStream(venue.engine, keyName, publicKey, { subscribeWithinMs: 5_000, idleCloseMs: 80 });
  cleanups.push(() => relaxed.close());
  const idle = await connect(relaxed.url);
  idle.send(coinbaseSubscribeMessage("user", { keyName, key }, Date.now(), "n-1"));
  await idle.waitFor((t) => t.includes("snapshot"));
  assert.equal(await idle.closed, 1000);
  assert.equal(stream.accepted, 1);
  assert.equal(relaxed.accepted, 1);
});
