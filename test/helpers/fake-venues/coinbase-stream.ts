import { verify, type KeyObject } from "node:crypto";
import type { FakeEngine, FakeOrder, FakeOrderEvent } from "./fake-venue-server.js";
import { averagePrice, openOrdersOf } from "./fake-venue-server.js";
import { coinbaseFee } from "./coinbase.js";
import { startFakeStream, type FakeStream, type FakeStreamConn } from "./fake-stream-server.js";

/**
 * Coinbase Advanced Trade's User Order Data endpoint: every `subscribe` message carries its own
 * ES256 JWT (kid = sub = the key name, iss "cdp", no uri claim, valid 2 minutes); a JWT is
 * refused when expired, not yet valid, badly signed, or already used (the docs: "generate a
 * different JWT for each websocket message"). A connection without a subscribe within
 * `subscribeWithinMs` is closed; one without the heartbeats channel is closed after `idleCloseMs`
 * without a message. `user` subscribers get a `subscriptions` answer, the open orders as a
 * snapshot (batches of 50), then updates; messages carry a per-connection `sequence_num`.
 */
export interface FakeCoinbaseStreamOptions {
  /** Default 5000 (the documented 5 s); tests shorten it. */
  readonly subscribeWithinMs?: number;
  /** Heartbeat period; default 1000 (documented: every second). */
  readonly heartbeatMs?: number;
  /** Close a connection without heartbeats after this long silent; default 60000 (documented 60-90 s). */
  readonly idleCloseMs?: number;
  /** Push every engine event (new, fill, cancel) as it happens, as the venue would; default false (tests push by hand). */
  readonly followEngine?: boolean;
}

export interface FakeCoinbaseStream extends FakeStream {
  /** Pushes the order's current state as a `user` update to every subscriber. */
  push(o: FakeOrder): void;
  /** Sends a `user` frame as is (with the connection's next sequence_num spliced in when it has none). */
  sendRaw(frame: string): void;
  /** Every `user` update pushed so far (without sequence numbers), oldest first. */
  readonly pushed: string[];
  /** Moves the venue's clock for JWT checks (simulates a gateway clock running behind). */
  clockOffsetMs: number;
  /** Skips one sequence number on every connection (a lost message). */
  skipSequence(): void;
  readonly auths: { ok: number; refused: number; reasons: string[] };
}

export async function startFakeCoinbaseStream(engine: FakeEngine, keyName: string, publicKey: KeyObject, options: FakeCoinbaseStreamOptions = {}): Promise<FakeCoinbaseStream> {
  const subscribeWithinMs = options.subscribeWithinMs ?? 5_000;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const idleCloseMs = options.idleCloseMs ?? 60_000;
  const usedNonces = new Set<string>();
  const auths = { ok: 0, refused: 0, reasons: [] as string[] };
  const pushed: string[] = [];
  const timers = new Map<number, NodeJS.Timeout[]>();

  function checkJwt(jwt: unknown, offsetMs: number): string | undefined {
    if (typeof jwt !== "string") return "no jwt";
    const [h, c, s] = jwt.split(".");
    if (!h || !c || !s) return "malformed jwt";
    try {
      const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, unknown>;
      const claims = JSON.parse(Buffer.from(c, "base64url").toString()) as Record<string, unknown>;
      if (header["alg"] !== "ES256" || header["kid"] !== keyName || typeof header["nonce"] !== "string") return "bad header";
      if (claims["sub"] !== keyName || claims["iss"] !== "cdp") return "bad claims";
      const now = Math.floor((Date.now() + offsetMs) / 1000);
      if (!(Number(claims["nbf"]) <= now + 1)) return "not yet valid";
      if (!(now < Number(claims["exp"]))) return "expired";
      if (!verify("sha256", Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"))) return "bad signature";
      if (usedNonces.has(header["nonce"])) return "jwt reused";
      usedNonces.add(header["nonce"]);
      return undefined;
    } catch {
      return "malformed jwt";
    }
  }

  const later = (conn: FakeStreamConn, ms: number, fn: () => void, every = false) => {
    const t = every ? setInterval(fn, ms) : setTimeout(fn, ms);
    t.unref();
    timers.set(conn.id, [...(timers.get(conn.id) ?? []), t]);
  };
  function emit(conn: FakeStreamConn, body: Record<string, unknown>): void {
    const seq = (conn.state["seq"] as number | undefined) ?? 0;
    conn.state["seq"] = seq + 1;
    conn.state["lastSentMs"] = Date.now();
    conn.send(JSON.stringify({ channel: body["channel"], client_id: "", timestamp: new Date().toISOString(), sequence_num: seq, events: body["events"] }));
  }
  function userOrder(o: FakeOrder): Record<string, unknown> {
    return {
      order_id: o.venueOrderId,
      client_order_id: o.clientOrderId,
      cumulative_quantity: o.filled,
      leaves_quantity: String(Math.max(0, Number(o.quantity) - Number(o.filled))),
      avg_price: averagePrice(o),
      total_fees: coinbaseFee(o.quote),
      status: o.state === "filled" ? "FILLED" : o.state === "canceled" ? "CANCELLED" : "OPEN",
      product_id: o.symbol,
      creation_time: new Date(o.createdMs).toISOString(),
      order_side: o.side,
      order_type: o.type.startsWith("market") ? "Market" : "Limit",
      cancel_reason: "",
      reject_reason: "",
      time_in_force: "GOOD_UNTIL_CANCELLED",
      product_type: "SPOT",
    };
  }
  const wants = (c: FakeStreamConn, symbol: string) => {
    const p = c.state["user"] as string[] | undefined;
    return p !== undefined && (p.length === 0 || p.includes(symbol));
  };

  let fake: FakeCoinbaseStream;
  const stream = await startFakeStream({
    path: "/",
    onOpen(conn) {
      later(conn, subscribeWithinMs, () => {
        if (conn.state["subscribed"] !== true) conn.close(1008, "no subscribe within 5 seconds");
      });
      // Channels close within 60-90 s without updates, unless heartbeats keep them open.
      later(conn, Math.max(10, Math.floor(idleCloseMs / 4)), () => {
        if (conn.state["heartbeats"] !== true && Date.now() - ((conn.state["lastSentMs"] as number | undefined) ?? Date.now()) >= idleCloseMs) conn.close(1000, "idle");
      }, true);
      conn.state["lastSentMs"] = Date.now();
    },
    onClose(conn) {
      for (const t of timers.get(conn.id) ?? []) clearTimeout(t);
      timers.delete(conn.id);
    },
    onMessage(conn, text) {
      let m: { type?: unknown; channel?: unknown; product_ids?: unknown; jwt?: unknown };
      try {
        m = JSON.parse(text) as typeof m;
      } catch {
        return conn.send(JSON.stringify({ type: "error", message: "failure to parse message" }));
      }
      if (m.type !== "subscribe" && m.type !== "unsubscribe") return conn.send(JSON.stringify({ type: "error", message: "unknown message type" }));
      if (m.channel !== "user" && m.channel !== "heartbeats") return conn.send(JSON.stringify({ type: "error", message: "unknown channel" }));
      const why = checkJwt(m.jwt, fake.clockOffsetMs);
      if (why !== undefined) {
        auths.refused++;
        auths.reasons.push(why);
        // The wording of the real error is not documented; the shape is the feed's error message.
        return conn.send(JSON.stringify({ type: "error", message: `authentication failure: ${why}` }));
      }
      auths.ok++;
      conn.state["subscribed"] = true;
      const on = m.type === "subscribe";
      if (m.channel === "heartbeats") {
        conn.state["heartbeats"] = on;
        if (on && conn.state["hbTimer"] !== true) {
          conn.state["hbTimer"] = true;
          let counter = 0;
          later(conn, heartbeatMs, () => {
            if (conn.state["heartbeats"] === true) emit(conn, { channel: "heartbeats", events: [{ current_time: new Date().toISOString(), heartbeat_counter: counter++ }] });
          }, true);
        }
      } else {
        conn.state["user"] = on ? (Array.isArray(m.product_ids) ? m.product_ids.filter((p): p is string => typeof p === "string") : []) : undefined;
      }
      const subs: Record<string, string[]> = {};
      if (conn.state["heartbeats"] === true) subs["heartbeats"] = ["heartbeats"];
      if (conn.state["user"] !== undefined) subs["user"] = conn.state["user"] as string[];
      emit(conn, { channel: "subscriptions", events: [{ subscriptions: subs }] });
      if (m.channel === "user" && on) {
        const open = openOrdersOf(engine).filter((o) => wants(conn, o.symbol));
        for (let i = 0; i === 0 || i < open.length; i += 50) emit(conn, { channel: "user", events: [{ type: "snapshot", orders: open.slice(i, i + 50).map(userOrder) }] });
      }
    },
  });

  fake = Object.assign(stream, {
    pushed,
    auths,
    clockOffsetMs: 0,
    push(o: FakeOrder) {
      const events = [{ type: "update", orders: [userOrder(o)] }];
      pushed.push(JSON.stringify({ channel: "user", events }));
      if (stream.losing) return;
      for (const c of stream.conns()) if (wants(c, o.symbol)) emit(c, { channel: "user", events });
    },
    sendRaw(frame: string) {
      if (stream.losing) return;
      const m = JSON.parse(frame) as Record<string, unknown>;
      for (const c of stream.conns()) {
        if (c.state["user"] === undefined) continue;
        if (typeof m["sequence_num"] === "number") c.send(frame);
        else emit(c, m);
      }
    },
    skipSequence() {
      for (const c of stream.conns()) c.state["seq"] = ((c.state["seq"] as number | undefined) ?? 0) + 1;
    },
  });
  if (options.followEngine === true) {
    const follow = (e: FakeOrderEvent): void => fake.push(e.order);
    engine.listeners.add(follow);
    const close = fake.close.bind(fake);
    fake.close = async () => {
      engine.listeners.delete(follow);
      await close();
    };
  }
  return fake;
}
