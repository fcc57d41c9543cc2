import type { FakeEngine, FakeOrder } from "./fake-venue-server.js";
import { averagePrice } from "./fake-venue-server.js";
import { startFakeStream, type FakeStream, type FakeStreamConn } from "./fake-stream-server.js";

/**
 * The made-up "acme" venue's user stream (the rest-json fake's REST, test/helpers/fake-venues/
 * rest-json.ts): {"op":"auth","key":K} -> {"op":"authed"} or {"op":"error","reason":...} and a
 * hang-up; {"op":"subscribe","channel":"orders"} (only once authed) -> {"op":"subscribed"};
 * then {"topic":"orders","data":{<the REST answer's order object>}} per change.
 */
export interface FakeRestJsonStream extends FakeStream {
  push(o: FakeOrder): void;
  sendRaw(frame: string): void;
  readonly pushed: string[];
  readonly auths: { ok: number; refused: number };
}

const STATE: Record<FakeOrder["state"], string> = { new: "open", partial: "partial", filled: "done", canceled: "cancelled" };

export async function startFakeRestJsonStream(_engine: FakeEngine, apiKey: string): Promise<FakeRestJsonStream> {
  const pushed: string[] = [];
  const auths = { ok: 0, refused: 0 };
  const send = (c: FakeStreamConn, m: unknown) => c.send(JSON.stringify(m));
  const stream = await startFakeStream({
    path: "/ws",
    onMessage(conn, text) {
      const m = JSON.parse(text) as { op?: unknown; key?: unknown; channel?: unknown };
      if (m.op === "auth") {
        if (m.key !== apiKey) {
          auths.refused++;
          send(conn, { op: "error", reason: "bad key" });
          return conn.close(1008, "bad key");
        }
        auths.ok++;
        conn.state["authed"] = true;
        return send(conn, { op: "authed" });
      }
      if (m.op === "subscribe" && m.channel === "orders") {
        if (conn.state["authed"] !== true) return send(conn, { op: "error", reason: "not authenticated" });
        conn.state["subscribed"] = true;
        return send(conn, { op: "subscribed" });
      }
      send(conn, { op: "error", reason: "unknown op" });
    },
  });
  function broadcast(frame: string): void {
    if (stream.losing) return;
    for (const c of stream.conns()) if (c.state["subscribed"] === true) c.send(frame);
  }
  return Object.assign(stream, {
    pushed,
    auths,
    push(o: FakeOrder) {
      const data = {
        id: o.venueOrderId,
        clientId: o.clientOrderId,
        state: STATE[o.state],
        executed: o.filled,
        avgPrice: averagePrice(o),
        trades: o.fills.map((f) => ({ id: `t${f.tradeId}`, px: f.price, sz: f.qty, fee: "0.01", feeCcy: "USD", ts: f.timeMs })),
      };
      const frame = JSON.stringify({ topic: "orders", data });
      pushed.push(frame);
      broadcast(frame);
    },
    sendRaw: broadcast,
  });
}
