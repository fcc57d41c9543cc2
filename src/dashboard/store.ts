/**
 * What the dashboard knows about one account, kept from a snapshot (ListOrders, ListFills,
 * GetPositions) and then from StreamOrderEvents. No DOM here: the page renders from it, and
 * test/dashboard/store.test.ts drives it directly.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { OrderEventType, OrderStatus } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Fill, Order, OrderEvent, Position } from "../../gen/trading/v1/trading_gateway_pb.js";

const FINAL: ReadonlySet<OrderStatus> = new Set([OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED]);

/** Most recent orders and fills kept for display. */
export const RECENT = 50;

export const isOpen = (o: Order): boolean => !FINAL.has(o.status);
export const ms = (t: Order["createdAt"]): number => (t === undefined ? 0 : timestampMs(t));

interface Held {
  order: Order;
  /** The event sequence it came from; undefined for a snapshot (ListOrders) copy. */
  seq: bigint | undefined;
}

export interface Store {
  /** Open orders, newest first. */
  openOrders(): Order[];
  /** The RECENT most recently updated orders, any status, newest first. */
  recentOrders(): Order[];
  /** Newest first. */
  fills(): Fill[];
  /** By venue, then symbol. */
  positions(): Position[];
  /** The last event sequence seen: the stream resumes after it. */
  readonly lastSequence: bigint;
  loadOrders(orders: readonly Order[]): void;
  loadFills(fills: readonly Fill[]): void;
  loadPositions(positions: readonly Position[]): void;
  /** Applies one event; returns what it touched, so the page re-renders only that. */
  apply(e: OrderEvent): { orders: boolean; fills: boolean; positions: boolean; tradingState: boolean };
}

export function createStore(): Store {
  const orders = new Map<string, Held>();
  const fills = new Map<string, Fill>();
  const positions = new Map<string, Position>();
  let lastSequence = 0n;

  /**
   * Newer wins. A replayed event can be older than the snapshot it follows (the stream replays
   * from the start): it replaces a snapshot copy only when it is strictly newer, or as new at
   * the same millisecond and final (PENDING_NEW, NEW and FILLED can share one).
   */
  function upsert(order: Order, seq: bigint | undefined): boolean {
    const had = orders.get(order.orderId);
    if (had !== undefined) {
      const a = ms(had.order.updatedAt);
      const b = ms(order.updatedAt);
      const newer =
        b > a ||
        (b === a && (seq !== undefined && had.seq !== undefined ? seq > had.seq : FINAL.has(order.status) && !FINAL.has(had.order.status)));
      if (!newer) return false;
    }
    orders.set(order.orderId, { order, seq });
    return true;
  }

  const byNewest = (key: (o: Order) => number) => (x: Order, y: Order) => key(y) - key(x) || (y.orderId < x.orderId ? -1 : 1);

  return {
    openOrders: () => [...orders.values()].map((h) => h.order).filter(isOpen).sort(byNewest((o) => ms(o.createdAt))),
    recentOrders: () => [...orders.values()].map((h) => h.order).sort(byNewest((o) => ms(o.updatedAt))).slice(0, RECENT),
    fills: () => [...fills.values()].sort((a, b) => (b.sequence > a.sequence ? 1 : -1)).slice(0, RECENT),
    positions: () => [...positions.values()].sort((a, b) => a.venue.localeCompare(b.venue) || a.symbol.localeCompare(b.symbol)),
    get lastSequence() {
      return lastSequence;
    },
    loadOrders(list) {
      for (const o of list) upsert(o, undefined);
    },
    loadFills(list) {
      for (const f of list) fills.set(f.fillId, f);
    },
    loadPositions(list) {
      positions.clear();
      for (const p of list) positions.set(`${p.venue}\u0000${p.symbol}`, p);
    },
    apply(e) {
      if (e.sequence > lastSequence) lastSequence = e.sequence;
      const touched = { orders: false, fills: false, positions: false, tradingState: false };
      if (e.order !== undefined) touched.orders = upsert(e.order, e.sequence);
      if (e.type === OrderEventType.FILL && e.fill !== undefined && !fills.has(e.fill.fillId)) {
        fills.set(e.fill.fillId, e.fill);
        touched.fills = true;
      }
      if (e.type === OrderEventType.POSITION_UPDATED && e.position !== undefined) {
        const key = `${e.position.venue}\u0000${e.position.symbol}`;
        // A replayed update older than the GetPositions snapshot must not roll it back.
        if ((positions.get(key)?.lastFillSequence ?? 0n) <= e.position.lastFillSequence) {
          positions.set(key, e.position);
          touched.positions = true;
        }
      }
      touched.tradingState = e.type === OrderEventType.TRADING_STATE_CHANGED;
      return touched;
    },
  };
}
