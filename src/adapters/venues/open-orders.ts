import { Decimal } from "decimal.js";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../domain/order.js";
import type { Result } from "../../domain/result.js";
import { err, ok } from "../../domain/result.js";
import type { VenueError, VenueOpenOrder } from "../../use-cases/venue-adapter.js";
import type { EnumRules, TranslatorRules } from "./translator.js";
import { getPath, mapStatus } from "./translator.js";

/** Where the fields of one entry of a venue's open-orders list are (dotted paths, as in AnswerRule). */
export interface OpenOrderPaths {
  readonly venueOrderId: string;
  readonly clientOrderId?: string;
  readonly symbol: string;
  readonly side: string;
  readonly type: string;
  readonly timeInForce?: string;
  readonly quantity: string;
  readonly price?: string;
  readonly stopPrice?: string;
  readonly status: string;
  readonly filledQuantity?: string;
  readonly averagePrice?: string;
  /** Cumulative quote amount; the average price is quote / filled when no average is given. */
  readonly cumulativeQuote?: string;
  readonly createdAt?: string;
  /** How `createdAt` is written: epoch ms, epoch seconds (fractional allowed) or RFC 3339. */
  readonly createdAtUnit?: "ms" | "s" | "iso";
}

function text(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return "";
}

/** A decimal field: "" when absent; a venue's "0"-style placeholder for "none" is kept as written, normalized. */
function decimal(v: unknown, what: string): Result<string, VenueError> {
  const s = text(v);
  if (s === "") return ok("");
  try {
    return ok(new Decimal(s).toFixed());
  } catch {
    return err({ kind: "protocol", reason: `venue open order has a non-numeric ${what}` });
  }
}

/** The gateway enum value whose venue spelling is `venueValue` (case-insensitive); UNSPECIFIED when none. */
function reverse<E extends number>(table: Readonly<Partial<Record<string, string>>>, venueValue: string, byName: Record<string, E | string>, unspecified: E): E {
  const want = venueValue.toLowerCase();
  for (const [name, spelled] of Object.entries(table)) {
    if (spelled !== undefined && spelled.toLowerCase() === want) {
      const value = byName[name];
      if (typeof value === "number") return value;
    }
  }
  return unspecified;
}

function createdAtMs(v: unknown, unit: OpenOrderPaths["createdAtUnit"]): number {
  const s = text(v);
  if (s === "") return 0;
  if (unit === "iso") {
    const t = Date.parse(s);
    return Number.isNaN(t) ? 0 : t;
  }
  const n = Number(s);
  if (!Number.isFinite(n)) return 0;
  return unit === "s" ? Math.round(n * 1000) : Math.round(n);
}

/** A zero price is how several venues write "no price": it means "". */
function nonZero(d: string): string {
  return d !== "" && new Decimal(d).isZero() ? "" : d;
}

/**
 * One entry of a venue's open-orders list in gateway terms (the symbol stays the venue's: the
 * adapter shell maps it back). Pure. The status goes through the venue's status table (an
 * unknown status is a protocol error, as for order answers); side, type and time in force are
 * read through the request enums backwards and are UNSPECIFIED when the venue's value has no
 * gateway equivalent (an external order of a kind the gateway never places).
 */
export function parseOpenOrder(entry: unknown, paths: OpenOrderPaths, rules: TranslatorRules): Result<VenueOpenOrder, VenueError> {
  if (entry === null || typeof entry !== "object") return err({ kind: "protocol", reason: "venue open order is not an object" });
  const venueOrderId = text(getPath(entry, paths.venueOrderId));
  if (venueOrderId === "") return err({ kind: "protocol", reason: `venue open order lacks the order id (${paths.venueOrderId})` });
  const rawStatus = text(getPath(entry, paths.status));
  const st = mapStatus(rules.enums, rawStatus);
  if (!st.ok) return st;
  const quantity = decimal(getPath(entry, paths.quantity), "quantity");
  if (!quantity.ok) return quantity;
  const filled = paths.filledQuantity === undefined ? ok("") : decimal(getPath(entry, paths.filledQuantity), "filled quantity");
  if (!filled.ok) return filled;
  const price = paths.price === undefined ? ok("") : decimal(getPath(entry, paths.price), "price");
  if (!price.ok) return price;
  const stop = paths.stopPrice === undefined ? ok("") : decimal(getPath(entry, paths.stopPrice), "stop price");
  if (!stop.ok) return stop;
  const avgRaw = paths.averagePrice === undefined ? ok("") : decimal(getPath(entry, paths.averagePrice), "average price");
  if (!avgRaw.ok) return avgRaw;
  let average = nonZero(avgRaw.value);
  const filledQ = filled.value === "" ? "0" : filled.value;
  if (average === "" && paths.cumulativeQuote !== undefined && !new Decimal(filledQ).isZero()) {
    const quote = decimal(getPath(entry, paths.cumulativeQuote), "cumulative quote");
    if (!quote.ok) return quote;
    if (quote.value !== "" && new Decimal(quote.value).gt(0)) average = new Decimal(quote.value).div(filledQ).toDecimalPlaces(12).toFixed();
  }
  let status = st.value;
  if (rules.partialWhenFilled === true && status === OrderStatus.NEW && new Decimal(filledQ).gt(0)) status = OrderStatus.PARTIALLY_FILLED;
  const enums: EnumRules = rules.enums;
  return ok({
    venueOrderId,
    venueClientOrderId: paths.clientOrderId === undefined ? "" : text(getPath(entry, paths.clientOrderId)),
    symbol: text(getPath(entry, paths.symbol)),
    side: reverse(enums.side, text(getPath(entry, paths.side)), Side, Side.UNSPECIFIED),
    type: reverse(enums.type, text(getPath(entry, paths.type)), OrderType, OrderType.UNSPECIFIED),
    timeInForce: paths.timeInForce === undefined ? TimeInForce.UNSPECIFIED : reverse(enums.timeInForce, text(getPath(entry, paths.timeInForce)), TimeInForce, TimeInForce.UNSPECIFIED),
    quantity: quantity.value,
    price: nonZero(price.value),
    stopPrice: nonZero(stop.value),
    status,
    filledQuantity: filledQ,
    averageFillPrice: average,
    createdAtMs: createdAtMs(paths.createdAt === undefined ? undefined : getPath(entry, paths.createdAt), paths.createdAtUnit),
  });
}

/** Every entry of `list`, or the first malformed one's error. */
export function parseOpenOrderList(list: readonly unknown[], paths: OpenOrderPaths, rules: TranslatorRules): Result<VenueOpenOrder[], VenueError> {
  const out: VenueOpenOrder[] = [];
  for (const entry of list) {
    const o = parseOpenOrder(entry, paths, rules);
    if (!o.ok) return o;
    out.push(o.value);
  }
  return ok(out);
}
