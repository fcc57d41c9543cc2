import type { AuditEvent, AuditSink } from "../../src/use-cases/audit-sink.js";
import { OrderStatus, OrderType, TimeInForce } from "../../src/domain/order.js";
import type { PlaceOrderInput } from "../../src/use-cases/validate.js";
import { MARKET_ORDER_FIELDS } from "../helpers/market-order.js";

/** An in-memory AuditSink. `buffered` answers null; `fsync` answers a promise resolved by flush(). */
export interface MemoryAudit extends AuditSink {
  readonly events: AuditEvent[];
  /** Resolves every pending append (fsync mode). */
  flush(): void;
  readonly pending: number;
  /** Makes later appends fail (fsync mode: reject; buffered: throw), after `skip` more that succeed. */
  failWith(e: Error | undefined, skip?: number): void;
}

export function createMemoryAudit(mode: "buffered" | "fsync" = "buffered", autoFlush = true): MemoryAudit {
  const events: AuditEvent[] = [];
  let waiting: Array<() => void> = [];
  let failure: Error | undefined;
  let skipping = 0;
  return {
    mode,
    events,
    append(batch: readonly AuditEvent[]): Promise<void> | null {
      if (failure !== undefined && skipping > 0) skipping -= 1;
      else if (failure !== undefined) {
        if (mode === "buffered") throw failure;
        return Promise.reject(failure);
      }
      events.push(...batch);
      if (mode === "buffered") return null;
      if (autoFlush) return Promise.resolve();
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    flush(): void {
      const w = waiting;
      waiting = [];
      for (const r of w) r();
    },
    get pending(): number {
      return waiting.length;
    },
    failWith(e: Error | undefined, skip = 0): void {
      failure = e;
      skipping = skip;
    },
    async close(): Promise<void> {},
  };
}

/** A valid MARKET IOC order on paper BTC-USD; override any field. */
export function marketOrder(over: Partial<PlaceOrderInput> = {}): PlaceOrderInput {
  return { ...MARKET_ORDER_FIELDS, price: "", stopPrice: "", idempotencyKey: "", ...over };
}

export function limitOrder(over: Partial<PlaceOrderInput> = {}): PlaceOrderInput {
  return marketOrder({ type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, price: "100.25", ...over });
}

/** A clock tests move by hand. */
export function createManualClock(start = 1_700_000_000_000): { nowMs(): number; advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return {
    nowMs: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}

import type { VenueAdapter, VenueError, VenueOrderUpdate } from "../../src/use-cases/venue-adapter.js";
import type { Result } from "../../src/domain/result.js";
import type { Order } from "../../src/domain/order.js";

/** A venue whose answers the test scripts; it counts calls and can hold them until released. */
export interface ScriptedVenue extends VenueAdapter {
  readonly placed: Order[];
  readonly canceled: Order[];
  /** Next placeOrder answers (default: FILLED at 100). */
  next: Array<Result<VenueOrderUpdate, VenueError>>;
  cancelNext: Array<Result<VenueOrderUpdate, VenueError>>;
  /** When true, placeOrder waits until release() is called. */
  hold: boolean;
  release(): void;
}

export function createScriptedVenue(name = "scripted", kind = "rest-json"): ScriptedVenue {
  let waiters: Array<() => void> = [];
  const v: ScriptedVenue = {
    name,
    kind,
    placed: [],
    canceled: [],
    next: [],
    cancelNext: [],
    hold: false,
    release() {
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    checkSymbol: (s) => (s === "BTC-USD" ? undefined : "unknown symbol"),
    checkOrderShape: () => undefined,
    async placeOrder(order) {
      v.placed.push(order);
      if (v.hold) await new Promise<void>((r) => waiters.push(r));
      return (
        v.next.shift() ?? {
          ok: true,
          value: {
            status: OrderStatus.FILLED,
            venueOrderId: `V-${v.placed.length}`,
            fills: [{ venueTradeId: `T-${v.placed.length}`, quantity: order.quantity, price: "100", fee: "0.1", feeCurrency: "USD", timeMs: 1 }],
          },
        }
      );
    },
    async cancelOrder(order) {
      v.canceled.push(order);
      return v.cancelNext.shift() ?? { ok: true, value: { status: OrderStatus.CANCELED, venueOrderId: order.venueOrderId, fills: [] } };
    },
    async queryOrder() {
      return { ok: false, error: { kind: "not_found", reason: "scripted" } };
    },
    async close() {},
  };
  return v;
}
