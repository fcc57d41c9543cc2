import type { Fill } from "../domain/order.js";
import type { Position } from "../domain/position.js";
import { UNNUMBERED, type OrderEvent, type OrderEventDeriver } from "./order-events.js";
import { createPositionBook, type PositionBook } from "./position-book.js";

const NONE: readonly OrderEvent[] = [];

/**
 * POSITION_UPDATED after each fill line: the position of the fill's (account, venue, symbol) once
 * that fill is applied. `positionAfter` says what it is; undefined = the fill changed no position
 * (already applied). Deterministic over the log, as a deriver must be (order-events.ts).
 */
export function positionEventsDeriver(positionAfter: (fill: Fill) => Position | undefined): OrderEventDeriver {
  return (e) => {
    if (e.type !== "fill" || e.fill === undefined) return NONE;
    const p = positionAfter(e.fill);
    if (p === undefined) return NONE;
    return [{ kind: "position_updated", timeMs: e.ts, account: p.account, venue: p.venue, symbol: p.symbol, position: p, reason: "", sequence: UNNUMBERED }];
  };
}

/**
 * The live deriver: the pipeline's book has already applied the fill when its line is appended
 * (the order manager feeds it in commit, before the append), so the position it reported for that
 * fill is taken, exact even when one append holds several fills of a symbol. Kept by fill sequence
 * until its line is appended; a bounded map, since an append that fails never takes its entries.
 */
export function livePositionEvents(book: PositionBook, maxPending = 10_000): OrderEventDeriver {
  const after = new Map<bigint, Position>();
  book.onPositionChanged((p, fill) => {
    if (after.size >= maxPending) after.clear();
    after.set(fill.sequence, p);
  });
  return positionEventsDeriver((fill) => {
    const p = after.get(fill.sequence);
    if (p !== undefined) after.delete(fill.sequence);
    return p;
  });
}

/** A replay's deriver: a book of its own, fed the log's fills from the start. */
export function replayPositionEvents(): OrderEventDeriver {
  const book = createPositionBook();
  return positionEventsDeriver((fill) => book.applyFill(fill));
}
