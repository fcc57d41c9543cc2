import { randomUUID } from "node:crypto";
import type { FakeEngine, FakeOrder, FakeOrderEvent } from "./fake-venue-server.js";
import { renderAlpacaOrder } from "./alpaca.js";
import { startFakeStream, type FakeStream, type FakeStreamConn } from "./fake-stream-server.js";

/**
 * Alpaca's `trade_updates` stream (wss://…/stream): the client authenticates with
 * {"action":"authenticate","data":{"key_id","secret_key"}} and is answered on the `authorization`
 * stream; a `listen` before that is answered `unauthorized`; {"action":"listen","data":{"streams":
 * ["trade_updates"]}} is acknowledged on `listening`. Trade updates carry the order object of the
 * REST API. Frames are binary by default, as the paper endpoint sends them.
 */
export interface FakeAlpacaStream extends FakeStream {
  /** Pushes `event` for the order (its current state) to every listening client. */
  push(o: FakeOrder, event: string): void;
  /** Sends a frame as is to every listening client (a duplicate, an old frame, garbage). */
  sendRaw(frame: string): void;
  /** Every trade_updates frame pushed so far, oldest first (to replay one out of order). */
  readonly pushed: string[];
  /** Authenticate messages seen: how many, and how many were refused. */
  readonly auths: { ok: number; refused: number };
}

export async function startFakeAlpacaStream(
  engine: FakeEngine,
  keyId: string,
  secretKey: string,
  // followEngine: every engine event is pushed as it happens (the fill-latency bench times that moment); tests push by hand.
  options: { binary?: boolean; followEngine?: boolean } = {},
): Promise<FakeAlpacaStream> {
  const binary = options.binary ?? true;
  const pushed: string[] = [];
  const auths = { ok: 0, refused: 0 };
  const send = (c: FakeStreamConn, m: unknown) => c.send(JSON.stringify(m), binary);
  const stream = await startFakeStream({
    path: "/stream",
    onMessage(conn, text) {
      let m: { action?: unknown; data?: { key_id?: unknown; secret_key?: unknown; streams?: unknown } };
      try {
        m = JSON.parse(text) as typeof m;
      } catch {
        return send(conn, { stream: "error", data: { error_message: "invalid syntax" } });
      }
      if (m.action === "authenticate") {
        const good = m.data?.key_id === keyId && m.data?.secret_key === secretKey;
        if (good) auths.ok++;
        else auths.refused++;
        conn.state["authorized"] = good;
        send(conn, { stream: "authorization", data: { status: good ? "authorized" : "unauthorized", action: "authenticate" } });
        // The docs do not say the server hangs up on a refused key; this fake does, so a client that ignores the answer notices.
        if (!good) conn.close(1008, "unauthorized");
        return;
      }
      if (m.action === "listen") {
        if (conn.state["authorized"] !== true) return send(conn, { stream: "authorization", data: { status: "unauthorized", action: "listen" } });
        const want = Array.isArray(m.data?.streams) ? (m.data.streams as unknown[]) : [];
        // Streams that do not exist are left out of the acknowledgement.
        const granted = want.filter((s) => s === "trade_updates");
        conn.state["listening"] = granted.length > 0;
        return send(conn, { stream: "listening", data: { streams: granted } });
      }
      send(conn, { stream: "error", data: { error_message: "unknown action" } });
    },
  });

  function positionQty(symbol: string): string {
    let q = 0;
    for (const o of engine.orders.values()) if (o.symbol === symbol) q += (o.side === "BUY" ? 1 : -1) * Number(o.filled);
    return String(q);
  }

  function broadcast(frame: string): void {
    if (stream.losing) return;
    for (const c of stream.conns()) if (c.state["listening"] === true) c.send(frame, binary);
  }

  const api = Object.assign(stream, {
    pushed,
    auths,
    push(o: FakeOrder, event: string) {
      const now = new Date().toISOString();
      const data: Record<string, unknown> = { event, order: { ...renderAlpacaOrder(o), updated_at: now }, timestamp: now };
      if (event === "fill" || event === "partial_fill") {
        const last = o.fills.at(-1);
        Object.assign(data, { execution_id: randomUUID(), price: last?.price ?? "0", qty: last?.qty ?? "0", position_qty: positionQty(o.symbol) });
      }
      const frame = JSON.stringify({ stream: "trade_updates", data });
      pushed.push(frame);
      broadcast(frame);
    },
    sendRaw: broadcast,
  });
  if (options.followEngine === true) {
    const follow = (e: FakeOrderEvent): void => {
      const event = e.kind === "trade" ? (e.order.state === "filled" ? "fill" : "partial_fill") : e.kind;
      api.push(e.order, event);
    };
    engine.listeners.add(follow);
    const close = api.close.bind(api);
    api.close = async () => {
      engine.listeners.delete(follow);
      await close();
    };
  }
  return api;
}
