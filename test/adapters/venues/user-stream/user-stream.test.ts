import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { WebSocketServer, type WebSocket } from "ws";
import { OrderStatus } from "../../../../src/domain/order.js";
import { systemClock } from "../../../../src/domain/ports.js";
import { ok } from "../../../../src/domain/result.js";
import type { OrderUpdateSink, VenueOrderUpdate } from "../../../../src/use-cases/venue-adapter.js";
import type { StreamMessage, VenueStreamSpec } from "../../../../src/adapters/venues/user-stream/stream-spec.js";
import type { StreamEventOutcome, UserStreamMetrics } from "../../../../src/adapters/venues/user-stream/stream-metrics.js";
import { createUserStream, reconnectDelayMs, type UserStreamDeps } from "../../../../src/adapters/venues/user-stream/user-stream.js";
import { createLogCapture } from "../../../helpers/log-capture.js";
import { waitFor } from "../../../helpers/wait-for.js";
import { makeOrder } from "../make-order.js";

/** A loopback ws server: every client frame goes to `onFrame`; `conns` are the open sockets. */
async function server(onFrame: (ws: WebSocket, text: string) => void) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((r) => wss.once("listening", () => r()));
  const conns: WebSocket[] = [];
  let connections = 0;
  wss.on("connection", (ws) => {
    connections++;
    conns.push(ws);
    ws.on("message", (d) => onFrame(ws, d.toString()));
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    conns,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
  };
}

/** A venue-neutral spec: "sub" subscribes; frames are JSON StreamMessages already. */
function spec(url: string, over: Partial<VenueStreamSpec> = {}): VenueStreamSpec {
  return {
    url,
    subscribe: (auth) => [JSON.stringify({ op: "sub", token: auth["token"] ?? "" })],
    parse: (frame) => [JSON.parse(frame) as StreamMessage],
    heartbeat: { intervalMs: 1_000, timeoutMs: 5_000 },
    ...over,
  };
}

function metrics() {
  const events: StreamEventOutcome[] = [];
  const reconnects: string[] = [];
  const m: UserStreamMetrics = { setConnected() {}, countReconnect: (_v, r) => void reconnects.push(r), observeLag() {}, countEvent: (_v, o) => void events.push(o) };
  return { m, events, reconnects };
}

function deps(s: VenueStreamSpec, over: Partial<UserStreamDeps> = {}): UserStreamDeps {
  const sink: OrderUpdateSink = { openOrders: () => [], applyVenueUpdate: async () => {} };
  return {
    venue: "v",
    spec: s,
    sink,
    catchUp: async () => true,
    queryOrder: async () => ok({ status: OrderStatus.NEW, venueOrderId: "", fills: [] }),
    clock: systemClock,
    settings: { minBackoffMs: 10, maxBackoffMs: 40 },
    ...over,
  };
}

const SUBSCRIBED = JSON.stringify({ kind: "subscribed" });

describe("user stream supervisor", () => {
  test("reconnect delays grow exponentially to the cap, jittered over the upper half", () => {
    const s = { minBackoffMs: 100, maxBackoffMs: 1_000 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => reconnectDelayMs(a, s, 0)), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([0, 1, 2, 3, 4].map((a) => reconnectDelayMs(a, s, 0.999999)), [100, 200, 400, 800, 1000]);
  });

  test("no frame within the heartbeat timeout (a silent peer): the connection is dropped and made again", async (t) => {
    // Answers the subscribe, then never a word (not even to the application pings).
    const srv = await server((ws, text) => {
      if (text.includes('"sub"')) ws.send(SUBSCRIBED);
    });
    const { m, reconnects } = metrics();
    const us = createUserStream(deps(spec(srv.url, { heartbeat: { intervalMs: 30, timeoutMs: 120, ping: () => '{"op":"ping"}' } }), { metrics: m }));
    t.after(async () => {
      await us.stop();
      await srv.close();
    });
    us.start();
    await waitFor(() => srv.connections >= 2, { what: "second connection" });
    assert.ok(reconnects.includes("heartbeat_timeout"), `reasons: ${reconnects.join(",")}`);
  });

  test("events are held during the REST catch-up and applied after it, in order; a full queue reconnects instead of growing", async (t) => {
    const applied: string[] = [];
    let order = makeOrder({ status: OrderStatus.NEW, venueOrderId: "V1" });
    const sink: OrderUpdateSink = {
      openOrders: () => [order],
      venueView: () => order,
      applyVenueUpdate: async (_id, u: VenueOrderUpdate) => {
        applied.push(u.fills[0]?.venueTradeId ?? "-");
        order = { ...order, status: OrderStatus.PARTIALLY_FILLED, filledQuantity: u.filledQuantity ?? order.filledQuantity };
      },
    };
    const event = (tid: string, cum: string): string =>
      JSON.stringify({ kind: "order", event: { venueClientOrderId: "cid-1", venueOrderId: "V1", eventTimeMs: 0, update: { status: OrderStatus.PARTIALLY_FILLED, venueOrderId: "V1", filledQuantity: cum, fills: [{ venueTradeId: tid, quantity: "0.1", price: "1", fee: "0", feeCurrency: "", timeMs: 0 }] } } });
    let release!: (v: boolean) => void;
    let catchUps = 0;
    const srv = await server((ws, text) => {
      if (!text.includes('"sub"')) return;
      ws.send(SUBSCRIBED);
      // Sent while the catch-up is still running.
      if (srv.connections === 1) for (const [i, c] of [["t1", "0.1"], ["t2", "0.2"]] as const) ws.send(event(i, c));
      else for (let i = 0; i < 5; i++) ws.send(event(`x${i}`, "9"));
    });
    const { m, events, reconnects } = metrics();
    const us = createUserStream(
      deps(spec(srv.url), {
        sink,
        metrics: m,
        settings: { minBackoffMs: 10, maxBackoffMs: 40, queueLimit: 3 },
        catchUp: () => {
          catchUps++;
          return catchUps === 1 ? new Promise<boolean>((r) => (release = r)) : new Promise<boolean>(() => {});
        },
      }),
    );
    t.after(async () => {
      release?.(true);
      await us.stop();
      await srv.close();
    });
    us.start();
    await waitFor(() => us.state() === "catching-up" && catchUps === 1, { what: "catching up" });
    await waitFor(() => srv.conns.length === 1);
    assert.deepEqual(applied, [], "nothing applied before the catch-up is done");
    release(true);
    await waitFor(() => applied.length === 2, { what: "held events applied" });
    assert.deepEqual(applied, ["t1", "t2"]);
    // Second connection: the catch-up never ends, 5 events > queueLimit 3.
    srv.conns[0]!.terminate();
    await waitFor(() => events.includes("overflow"), { what: "overflow" });
    await waitFor(() => reconnects.includes("queue_overflow"), { what: "reconnect after overflow" });
  });

  test("a refused authentication is retried with back-off; neither the token nor any secret reaches the logs", async (t) => {
    const srv = await server((ws, text) => {
      if (text.includes('"sub"')) ws.send(JSON.stringify({ kind: "error", reason: "token refused", auth: true }));
    });
    const logs = createLogCapture("debug");
    let tokens = 0;
    const s = spec(srv.url, { authenticate: async () => ok({ token: `SECRET-TOKEN-${++tokens}` }) });
    const us = createUserStream(deps(s, { logger: logs.logger }));
    t.after(async () => {
      await us.stop();
      await srv.close();
    });
    us.start();
    await waitFor(() => srv.connections >= 3, { what: "retries" });
    assert.ok(tokens >= 3, "a fresh token per connection");
    const text = JSON.stringify(logs.lines);
    assert.ok(text.includes("venue stream refused"));
    assert.ok(!text.includes("SECRET-TOKEN"), "no token in the logs");
    assert.equal(us.status().degraded, true);
  });

  test("renewal frames are sent on the open connection before expiry (no reconnect)", async (t) => {
    let renewals = 0;
    const srv = await server((ws, text) => {
      if (text.includes('"sub"')) ws.send(SUBSCRIBED);
      if (text.includes('"renew"')) renewals++;
    });
    const us = createUserStream(deps(spec(srv.url, { renew: { afterMs: 40, frames: () => ['{"op":"renew"}'] } })));
    t.after(async () => {
      await us.stop();
      await srv.close();
    });
    us.start();
    await waitFor(() => renewals >= 2, { what: "two renewals" });
    assert.equal(srv.connections, 1);
    assert.equal(us.state(), "connected");
  });
});
