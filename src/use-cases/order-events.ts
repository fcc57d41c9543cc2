import type { Position } from "../domain/position.js";
import type { TradingStateSetting } from "../domain/trading-state.js";
import type { Logger } from "pino";
import type { Fill, Order } from "../domain/order.js";
import type { AuditEvent, AuditEventType, AuditSink } from "./audit-sink.js";
import { createSequenceHub, type SequenceHub, type SequenceHubOptions, type SubscribeOf, type Subscription } from "./sequence-hub.js";

/**
 * StreamOrderEvents' model: what the gateway records, as order events in one gateway-wide sequence.
 *
 * Where the events come from: the audit log. Every audit event is turned into zero or more order
 * events by ONE function, `orderEventsOf` (a table by audit event type, plus optional derivers
 * for events computed from the log, such as a position update after a fill). The sequence is
 * assigned where events are appended (`createOrderEventLog`, a wrapper around the AuditSink): a
 * line that yields k events reserves k numbers and stores the first ("es") and k ("en", when not
 * 1) on the line itself, so replaying the log numbers every event exactly as it was numbered live,
 * and the highest number issued is recovered from the log at start-up. Details and the rules for
 * lines written before this existed: docs/architecture.md "Order events".
 */

/** OrderEventType without the proto (rpc/order-event-mapping.ts maps it, exhaustively). */
export type OrderEventKind =
  | "accepted"
  | "new"
  | "partially_filled"
  | "filled"
  | "cancel_requested"
  | "canceled"
  | "cancel_rejected"
  | "replace_requested"
  | "replaced"
  | "replace_rejected"
  | "rejected"
  | "expired"
  | "fill"
  | "reconciled"
  | "position_updated"
  | "trading_state_changed";

/** An order event without its number. */
export interface OrderEventDraft {
  readonly kind: OrderEventKind;
  readonly timeMs: number;
  /** "" for an event about no account (a global or venue trading state): it goes to every stream. */
  readonly account: string;
  readonly venue: string;
  readonly symbol: string;
  readonly order?: Order;
  readonly fill?: Fill;
  /** POSITION_UPDATED's payload: the position after the fill. */
  readonly position?: Position;
  /** TRADING_STATE_CHANGED's payload. */
  readonly tradingState?: TradingStateSetting;
  /** Why, when the gateway acted on its own or corrected a record; "" otherwise. */
  readonly reason: string;
}

export interface OrderEvent extends OrderEventDraft {
  readonly sequence: bigint;
}

/**
 * `sequence` of an event the mapping has made and nothing has numbered yet. The mapping makes
 * each event with its `sequence` field already there, and whoever numbers it (the append, a
 * replay) sets it in place: one object per event rather than a draft and a numbered copy.
 */
export const UNNUMBERED = 0n;

/**
 * What a mapper or deriver returns: fresh objects, each made with `sequence: UNNUMBERED`, that
 * nothing else holds (they are numbered in place; see UNNUMBERED).
 */
type Mapper = (e: AuditEvent) => readonly OrderEvent[];

const NONE: readonly OrderEvent[] = [];

/** Numbers an event the mapping made (see UNNUMBERED). */
function numberInPlace(ev: OrderEvent, sequence: bigint): void {
  (ev as { sequence: bigint }).sequence = sequence;
}

/** One event about the line's order (none for a line without an order, e.g. a risk rejection). */
function orderEvent(kind: OrderEventKind, reasonOf?: (e: AuditEvent, o: Order) => string): Mapper {
  return (e) => {
    const o = e.order;
    if (o === undefined) return NONE;
    return [{ kind, timeMs: e.ts, account: o.account, venue: o.venue, symbol: o.symbol, order: o, reason: e.reason ?? reasonOf?.(e, o) ?? "", sequence: UNNUMBERED }];
  };
}

/**
 * THE mapping, by audit event type. A Record, so adding an AuditEventType (audit-sink.ts) does not
 * compile until it has a row here: that row is the extension point for a new audited event
 * (replace, reconciliation, trading state). Return NONE for an audit event that is no order event.
 */
export const ORDER_EVENT_MAPPERS: Readonly<Record<AuditEventType, Mapper>> = {
  order_received: orderEvent("accepted"),
  // PENDING_NEW again after an unknown venue outcome: nothing new to tell (ACCEPTED was told).
  order_pending: () => NONE,
  order_accepted: orderEvent("new"),
  order_partially_filled: orderEvent("partially_filled"),
  order_filled: orderEvent("filled"),
  cancel_requested: orderEvent("cancel_requested"),
  cancel_rejected: orderEvent("cancel_rejected", (e) => e.error?.message ?? ""),
  order_canceled: orderEvent("canceled"),
  order_rejected: orderEvent("rejected", (_e, o) => o.rejectReason),
  order_expired: orderEvent("expired"),
  replace_requested: orderEvent("replace_requested"),
  // A correction or an adoption: RECONCILED with what differed (the status events of a correction
  // precede it in the same append).
  order_reconciled: orderEvent("reconciled", (e) => (e.reconciliation !== undefined ? `${e.reconciliation.kind}: ${e.reconciliation.detail}` : "")),
  order_replaced: orderEvent("replaced"),
  replace_rejected: orderEvent("replace_rejected", (e) => e.error?.message ?? ""),
  // A global or venue setting goes to every stream (account ""); an account's to that account's.
  trading_state_set: (e) => {
    const t = e.tradingState;
    if (t === undefined) return NONE;
    return [{ kind: "trading_state_changed", timeMs: e.ts, account: t.account, venue: t.venue, symbol: "", tradingState: t, reason: t.reason, sequence: UNNUMBERED }];
  },
  // A limits reload is on record (audit) but is no order event.
  risk_limits_reloaded: () => NONE,
  // The daily loss limit made the account reduce-only: told as the trading state it now has.
  daily_loss_limit_breached: (e) => {
    const account = e.error?.kind === "failed_precondition" ? e.error.metadata?.["account"] : undefined;
    if (account === undefined) return NONE;
    const reason = e.error!.message;
    const tradingState: TradingStateSetting = { account, venue: "", state: "REDUCE_ONLY", reason, setBy: "gateway", setAtMs: e.ts };
    return [{ kind: "trading_state_changed", timeMs: e.ts, account, venue: "", symbol: "", tradingState, reason, sequence: UNNUMBERED }];
  },
  fill: (e) => {
    const f = e.fill;
    if (f === undefined) return NONE;
    const reason = e.reason ?? "";
    // Two literals rather than a spread of an optional `order`: no throw-away object per fill.
    return [
      e.order !== undefined
        ? { kind: "fill", timeMs: e.ts, account: f.account, venue: f.venue, symbol: f.symbol, fill: f, order: e.order, reason, sequence: UNNUMBERED }
        : { kind: "fill", timeMs: e.ts, account: f.account, venue: f.venue, symbol: f.symbol, fill: f, reason, sequence: UNNUMBERED },
    ];
  },
};

/**
 * Computes further events from the log (POSITION_UPDATED after a fill). Fed EVERY audit event in
 * log order, live and on replay, with the events the table made of it; returns the events to add
 * after them (same line, following numbers), made as the table's are (see Mapper). It must be
 * deterministic over the log: a fresh one fed the log from the start must return what the live one
 * returned, or replay numbers differ (extra replayed events beyond the line's stored count are
 * dropped, missing ones leave gaps).
 */
export type OrderEventDeriver = (e: AuditEvent, mapped: readonly OrderEventDraft[]) => readonly OrderEvent[];

/** The one mapping: the table's events, then the deriver's (not numbered yet: see UNNUMBERED). */
export function orderEventsOf(e: AuditEvent, derive?: OrderEventDeriver): readonly OrderEventDraft[] {
  const mapped = ORDER_EVENT_MAPPERS[e.type](e);
  if (derive === undefined) return mapped;
  const more = derive(e, mapped);
  return more.length === 0 ? mapped : [...mapped, ...more];
}

/**
 * The events of one recorded line, numbered from its stored base (none for a line written before
 * numbering). The same steps as the append's numbering (createOrderEventLog): the table's events,
 * then the deriver's, numbered from the base in that order.
 */
export function numberedEventsOf(e: AuditEvent, derive?: OrderEventDeriver): OrderEvent[] {
  const mapped = ORDER_EVENT_MAPPERS[e.type](e);
  const more = derive === undefined ? NONE : derive(e, mapped);
  const base = e.eventSequence;
  if (base === undefined) return [];
  const n = Math.min(mapped.length + more.length, e.eventCount ?? 1);
  const out: OrderEvent[] = [];
  for (let i = 0; i < n; i++) {
    const ev = i < mapped.length ? mapped[i]! : more[i - mapped.length]!;
    numberInPlace(ev, base + BigInt(i));
    out.push(ev);
  }
  return out;
}

/** The highest event sequence a recorded line reserved (0n for none). */
export function lastEventSequenceOf(e: AuditEvent): bigint {
  return e.eventSequence === undefined ? 0n : e.eventSequence + BigInt((e.eventCount ?? 1) - 1);
}

// ---------------------------------------------------------------- fan-out

export interface OrderEventFilter {
  /** "" or undefined = any. */
  readonly account?: string;
  readonly venue?: string;
  readonly symbol?: string;
  /** Accounts the caller may see (the principal's), or "any". */
  readonly allowedAccounts: ReadonlySet<string> | "any";
}

export type OrderEventHub = SequenceHub<OrderEvent, OrderEventFilter>;
export type OrderEventSubscription = Subscription<OrderEvent>;
export type OrderEventSubscribeOptions = SubscribeOf<OrderEventFilter>;

export function matchesOrderEvent(e: OrderEvent, o: OrderEventFilter): boolean {
  // Events about no account (a global or venue trading state) concern every stream.
  if (e.account === "") return true;
  return (
    (o.account === undefined || o.account === "" || e.account === o.account) &&
    (o.venue === undefined || o.venue === "" || e.venue === o.venue) &&
    (o.symbol === undefined || o.symbol === "" || e.symbol === o.symbol) &&
    (o.allowedAccounts === "any" || o.allowedAccounts.has(e.account))
  );
}

export function createOrderEventHub(
  opts: Omit<SequenceHubOptions<OrderEvent, OrderEventFilter>, "matches" | "noun" | "describe">,
): OrderEventHub {
  return createSequenceHub<OrderEvent, OrderEventFilter>({ ...opts, matches: matchesOrderEvent, noun: "order event", describe: (e) => ({ kind: e.kind }) });
}

/**
 * The hub's `readArchive` over the audit log: events with a sequence above `afterSequence`, in
 * log order (= sequence order: numbers are taken and lines appended in one synchronous step).
 * `newDeriver` gives a fresh deriver per pass, fed the whole log from its start.
 */
export function createOrderEventArchive(
  read: (opts: { readonly live: boolean }) => AsyncIterable<AuditEvent>,
  newDeriver?: () => OrderEventDeriver,
): (afterSequence: bigint) => AsyncIterable<OrderEvent> {
  return async function* readArchive(afterSequence: bigint): AsyncGenerator<OrderEvent, void, undefined> {
    const derive = newDeriver?.();
    for await (const e of read({ live: true })) {
      // A line with nothing after the resume point is skipped unmapped, unless a deriver keeps state.
      if (derive === undefined && (e.eventSequence === undefined || lastEventSequenceOf(e) <= afterSequence)) continue;
      for (const ev of numberedEventsOf(e, derive)) if (ev.sequence > afterSequence) yield ev;
    }
  };
}

// ---------------------------------------------------------------- numbering at the append

export interface OrderEventLogOptions {
  readonly inner: AuditSink;
  readonly hub: OrderEventHub;
  /** The live deriver (primed by its owner from the log at start-up); see OrderEventDeriver. */
  readonly derive?: OrderEventDeriver;
  readonly logger?: Logger;
}

/**
 * The AuditSink every producer appends through: it numbers each line's order events (storing the
 * base and count on the line), appends, and publishes the events once the append is durable, in
 * sequence order. A batch whose append fails is not published (its events may not be on record);
 * its numbers are skipped, which streams allow (a filtered stream skips numbers anyway).
 */
export function createOrderEventLog(opts: OrderEventLogOptions): AuditSink {
  const { inner, hub, derive, logger } = opts;
  /** Batches appended but not yet published, oldest first: published strictly in this order. */
  const waiting: { events: OrderEvent[]; state: "pending" | "done" | "failed" }[] = [];
  function drain(): void {
    while (waiting.length > 0 && waiting[0]!.state !== "pending") {
      const b = waiting.shift()!;
      if (b.state === "done") for (const ev of b.events) hub.publish(ev);
      else logger?.warn({ events: b.events.length, first: String(b.events[0]?.sequence) }, "order events not streamed: their audit append failed");
    }
  }
  return {
    get mode() {
      return inner.mode;
    },
    append(events) {
      /** `events`, or a copy of it where a line had to be copied to be numbered (see below). */
      let out: readonly AuditEvent[] = events;
      let numbered: OrderEvent[] | undefined;
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        // As orderEventsOf, without joining the two lists (numberedEventsOf replays these steps).
        const mapped = ORDER_EVENT_MAPPERS[e.type](e);
        const more = derive === undefined ? NONE : derive(e, mapped);
        const k = mapped.length + more.length;
        if (k === 0) continue;
        const base = hub.nextSequence();
        for (let j = 1; j < k; j++) hub.nextSequence();
        if (e.eventSequence === undefined && e.eventCount === undefined && Object.isExtensible(e)) {
          // Numbered on the producer's own object, not a copy: producers make a fresh event per
          // append and keep none to append again (the sinks below read the numbers from it).
          const w = e as { eventSequence?: bigint; eventCount?: number };
          w.eventSequence = base;
          if (k !== 1) w.eventCount = k;
        } else {
          // An event already numbered (appended again, or a spread of one appended) or frozen: its
          // holder keeps it as it is. The count is set even when 1: a copy must not keep another
          // line's count.
          if (out === events) out = events.slice();
          (out as AuditEvent[])[i] = { ...e, eventSequence: base, eventCount: k };
        }
        numbered ??= [];
        for (let j = 0; j < mapped.length; j++) {
          numberInPlace(mapped[j]!, j === 0 ? base : base + BigInt(j));
          numbered.push(mapped[j]!);
        }
        for (let j = 0; j < more.length; j++) {
          const at = mapped.length + j;
          numberInPlace(more[j]!, at === 0 ? base : base + BigInt(at));
          numbered.push(more[j]!);
        }
      }
      if (numbered === undefined) return inner.append(events);
      const batch = { events: numbered, state: "pending" as "pending" | "done" | "failed" };
      waiting.push(batch);
      let p: Promise<void> | null;
      try {
        p = inner.append(out);
      } catch (e) {
        batch.state = "failed";
        drain();
        throw e;
      }
      if (p === null) {
        batch.state = "done";
        drain();
        return null;
      }
      // Registered before the caller's own continuation: the events are out when its await resumes.
      p.then(
        () => {
          batch.state = "done";
          drain();
        },
        () => {
          batch.state = "failed";
          drain();
        },
      );
      return p;
    },
    close: () => inner.close(),
  };
}
