import { Decimal } from "decimal.js";
import type { Order } from "../../domain/order.js";
import { OrderStatus, OrderType, Side, TimeInForce } from "../../domain/order.js";
import type { Result } from "../../domain/result.js";
import { err, ok } from "../../domain/result.js";
import type { VenueError, VenueFill, VenueOrderUpdate } from "../../use-cases/venue-adapter.js";

/**
 * Translators are data. A venue whose REST API has the common shape (one
 * JSON/form/query request per operation, one JSON object back) is described
 * completely by these rules; the built-in venues reuse the same functions and
 * add code only for what rules cannot say (signing, odd encodings).
 */

export type SideName = "BUY" | "SELL";
export type TypeName = "MARKET" | "LIMIT" | "STOP" | "STOP_LIMIT";
export type TifName = "GTC" | "IOC" | "FOK" | "DAY";
export type StatusName =
  | "PENDING_NEW"
  | "NEW"
  | "PARTIALLY_FILLED"
  | "FILLED"
  | "PENDING_CANCEL"
  | "CANCELED"
  | "REJECTED"
  | "EXPIRED";

export const SIDE_NAMES: readonly SideName[] = ["BUY", "SELL"];
export const TYPE_NAMES: readonly TypeName[] = ["MARKET", "LIMIT", "STOP", "STOP_LIMIT"];
export const TIF_NAMES: readonly TifName[] = ["GTC", "IOC", "FOK", "DAY"];
export const STATUS_NAMES: readonly StatusName[] = [
  "PENDING_NEW",
  "NEW",
  "PARTIALLY_FILLED",
  "FILLED",
  "PENDING_CANCEL",
  "CANCELED",
  "REJECTED",
  "EXPIRED",
];

/** Values a request field can be taken from. `symbol` is the venue symbol (after the symbol map). */
export type OrderField =
  | "symbol"
  | "side"
  | "type"
  | "timeInForce"
  | "quantity"
  | "price"
  | "stopPrice"
  | "clientOrderId"
  | "venueOrderId";

export const ORDER_FIELDS: readonly OrderField[] = [
  "symbol",
  "side",
  "type",
  "timeInForce",
  "quantity",
  "price",
  "stopPrice",
  "clientOrderId",
  "venueOrderId",
];

export interface FieldRule {
  /** Take the value from the order (enums go through `enums`). */
  readonly from?: OrderField;
  /** Or a constant. */
  readonly value?: string | number | boolean;
  /** Send only for these order types / times in force. */
  readonly when?: {
    readonly type?: readonly TypeName[];
    readonly timeInForce?: readonly TifName[];
    readonly side?: readonly SideName[];
  };
  /** Decimal fields: fixed number of decimals (rounded down: never send more than asked). Default: the normalized decimal. */
  readonly decimals?: number;
}

export interface RequestRule {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** May contain {symbol}, {clientOrderId}, {venueOrderId} (URL-encoded on substitution). */
  readonly path: string;
  /** json: JSON body; form: x-www-form-urlencoded body; query: everything in the query string. */
  readonly encoding: "json" | "form" | "query";
  /**
   * Venue field name (dotted = nested JSON object) -> where its value comes
   * from. Empty values are omitted. A `#suffix` on the name is dropped, so one
   * venue field can have several rules with different `when` (Kraken `price`
   * is the limit price for limit orders but the trigger for stop orders).
   */
  readonly fields: Readonly<Record<string, OrderField | FieldRule>>;
}

export interface FillsRule {
  /** Path of the array of executions in the answer. */
  readonly path: string;
  readonly tradeId: string;
  readonly price: string;
  readonly quantity: string;
  readonly fee?: string;
  readonly feeCurrency?: string;
  readonly timeMs?: string;
}

/** Where things are in the venue's answer: dotted paths, array indexes allowed (`txid.0`). */
export interface AnswerRule {
  /** Sub-object the other paths are relative to, e.g. `order`. */
  readonly root?: string;
  readonly venueOrderId: string;
  readonly status: string;
  readonly filledQuantity?: string;
  readonly averagePrice?: string;
  /** Cumulative quote amount; average price = quote / filled when no average is given. */
  readonly cumulativeQuote?: string;
  /** The venue's running fee total for the order (becomes VenueOrderUpdate.cumulativeFee). */
  readonly cumulativeFee?: string;
  readonly rejectReason?: string;
  readonly fills?: FillsRule;
}

export interface EnumRules {
  readonly side: Readonly<Record<SideName, string>>;
  readonly type: Readonly<Partial<Record<TypeName, string>>>;
  readonly timeInForce: Readonly<Partial<Record<TifName, string>>>;
  /** Venue status -> gateway status. A status not listed is a protocol error. */
  readonly status: Readonly<Record<string, StatusName>>;
}

export interface TranslatorRules {
  readonly place: RequestRule;
  readonly cancel: RequestRule;
  readonly query: RequestRule;
  readonly enums: EnumRules;
  readonly answer: AnswerRule;
  /** Answer layout of cancel, when it differs from `answer`. */
  readonly cancelAnswer?: AnswerRule;
  /**
   * Venues that report "open" for partly filled orders: when the mapped
   * status is NEW and something filled, report PARTIALLY_FILLED.
   */
  readonly partialWhenFilled?: boolean;
}

/** A request before signing: path and parameters still apart, so each venue can sign its own way. */
export interface UnsignedRequest {
  readonly method: RequestRule["method"];
  readonly path: string;
  /** Query parameters in rule order (order matters for signatures). */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Encoded body, "" when none. */
  readonly body: string;
  readonly contentType?: "application/json" | "application/x-www-form-urlencoded";
}

export type Operation = "place" | "cancel" | "query";

export interface TranslateInput {
  readonly order: Order;
  /** Venue symbol (after the venue's symbol map). */
  readonly venueSymbol: string;
}

/** Form/query encoding as venues expect it: RFC 3986 percent-encoding of everything but unreserved characters. */
export function encodeParams(params: ReadonlyArray<readonly [string, string]>): string {
  return params.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join("&");
}

export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Normalized decimal string, never exponent notation; `decimals` rounds toward zero. */
export function formatDecimal(value: string, decimals?: number): string {
  const d = new Decimal(value);
  return decimals === undefined ? d.toFixed() : d.toDecimalPlaces(decimals, Decimal.ROUND_DOWN).toFixed(decimals);
}

/** Why the venue cannot take this order, or undefined. Used by checkOrderShape. */
export function checkShapeAgainstEnums(enums: EnumRules, type: OrderType, tif: TimeInForce): string | undefined {
  const t = OrderType[type] as TypeName | undefined;
  const f = TimeInForce[tif] as TifName | undefined;
  if (t === undefined || enums.type[t] === undefined) return `order type ${t ?? type} is not supported by this venue`;
  // Market orders carry no time in force on most venues; accept whatever the client sent.
  if (t === "MARKET") return undefined;
  if (f === undefined || enums.timeInForce[f] === undefined) return `time in force ${f ?? tif} is not supported by this venue`;
  return undefined;
}

function enumValue(enums: EnumRules, field: "side" | "type" | "timeInForce", order: Order): string | undefined {
  switch (field) {
    case "side":
      return enums.side[Side[order.side] as SideName];
    case "type":
      return enums.type[OrderType[order.type] as TypeName];
    case "timeInForce":
      return enums.timeInForce[TimeInForce[order.timeInForce] as TifName];
  }
}

function rawField(field: OrderField, input: TranslateInput, enums: EnumRules): string | undefined {
  const o = input.order;
  switch (field) {
    case "symbol":
      return input.venueSymbol;
    case "side":
    case "type":
    case "timeInForce":
      return enumValue(enums, field, o);
    case "quantity":
      return o.quantity;
    case "price":
      return o.price;
    case "stopPrice":
      return o.stopPrice;
    case "clientOrderId":
      return o.venueClientOrderId;
    case "venueOrderId":
      return o.venueOrderId;
  }
}

const DECIMAL_FIELDS = new Set<OrderField>(["quantity", "price", "stopPrice"]);

/**
 * Builds the request for one operation from the rules. Pure. Fails with
 * `rejected` (nothing sent) when the order needs a value the rules cannot
 * produce, e.g. an order type the venue has no mapping for.
 */
export function translateRequest(
  op: Operation,
  input: TranslateInput,
  rules: TranslatorRules,
): Result<UnsignedRequest, VenueError> {
  const rule = rules[op];
  const order = input.order;
  const typeName = OrderType[order.type] as TypeName;
  const tifName = TimeInForce[order.timeInForce] as TifName;
  const sideName = Side[order.side] as SideName;
  const values: Array<readonly [string, string | number | boolean]> = [];
  for (const [ruleKey, spec] of Object.entries(rule.fields)) {
    const venueField = ruleKey.split("#")[0]!;
    const fr: FieldRule = typeof spec === "string" ? { from: spec } : spec;
    if (fr.when?.side && !fr.when.side.includes(sideName)) continue;
    if (fr.when?.type && !fr.when.type.includes(typeName)) continue;
    if (fr.when?.timeInForce && !fr.when.timeInForce.includes(tifName)) continue;
    if (fr.value !== undefined) {
      values.push([venueField, fr.value]);
      continue;
    }
    if (fr.from === undefined) continue;
    const raw = rawField(fr.from, input, rules.enums);
    if (raw === undefined) {
      return err({ kind: "rejected", reason: `venue has no mapping for ${fr.from} ${describeEnum(fr.from, order)}` });
    }
    if (raw === "") continue;
    let v = raw;
    if (DECIMAL_FIELDS.has(fr.from)) {
      try {
        v = formatDecimal(raw, fr.decimals);
      } catch {
        return err({ kind: "rejected", reason: `${fr.from} is not a decimal number` });
      }
    }
    values.push([venueField, v]);
  }
  const path = substitutePath(rule.path, input);
  const strings = values.map(([k, v]) => [k, String(v)] as const);
  switch (rule.encoding) {
    case "query":
      return ok({ method: rule.method, path, query: strings, body: "" });
    case "form":
      return ok({ method: rule.method, path, query: [], body: encodeParams(strings), contentType: "application/x-www-form-urlencoded" });
    case "json": {
      const obj: Record<string, unknown> = {};
      for (const [k, v] of values) setPath(obj, k, v);
      return ok({ method: rule.method, path, query: [], body: JSON.stringify(obj), contentType: "application/json" });
    }
  }
}

function describeEnum(field: OrderField, order: Order): string {
  if (field === "side") return Side[order.side] ?? String(order.side);
  if (field === "type") return OrderType[order.type] ?? String(order.type);
  if (field === "timeInForce") return TimeInForce[order.timeInForce] ?? String(order.timeInForce);
  return "";
}

export function substitutePath(template: string, input: TranslateInput): string {
  return template.replace(/\{(symbol|clientOrderId|venueOrderId)\}/g, (_, name: string) => {
    const v = name === "symbol" ? input.venueSymbol : name === "clientOrderId" ? input.order.venueClientOrderId : input.order.venueOrderId;
    return encodeRfc3986(v);
  });
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === undefined || typeof next !== "object" || next === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Reads a dotted path (`a.b.0.c`) from parsed JSON; undefined when absent. */
export function getPath(value: unknown, dotted: string | undefined): unknown {
  if (dotted === undefined || dotted === "") return value;
  let cur: unknown = value;
  for (const p of dotted.split(".")) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (typeof cur === "object") cur = (cur as Record<string, unknown>)[p];
    else return undefined;
  }
  return cur;
}

/** A scalar from the answer as a string ("" when absent/null). Numbers are stringified as the venue wrote them. */
function scalar(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  return "";
}

function decimalOrEmpty(v: unknown, what: string): Result<string, VenueError> {
  const s = scalar(v);
  if (s === "") return ok("");
  try {
    return ok(new Decimal(s).toFixed());
  } catch {
    return err({ kind: "protocol", reason: `venue answer has a non-numeric ${what}` });
  }
}

export function mapStatus(enums: EnumRules, venueStatus: string): Result<OrderStatus, VenueError> {
  const name = Object.hasOwn(enums.status, venueStatus) ? enums.status[venueStatus] : undefined;
  if (name === undefined) return err({ kind: "protocol", reason: `unknown venue order status "${venueStatus.slice(0, 64)}"` });
  return ok(OrderStatus[name]);
}

/**
 * Interprets a venue's order answer (already JSON-parsed) through the rules.
 * Pure. An unknown status, a missing order id or a non-numeric quantity is a
 * `protocol` error: we never guess what the venue meant.
 */
export function parseOrderAnswer(json: unknown, rules: TranslatorRules, answer: AnswerRule = rules.answer): Result<VenueOrderUpdate, VenueError> {
  const root = getPath(json, answer.root);
  if (root === null || typeof root !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
  const venueOrderId = scalar(getPath(root, answer.venueOrderId));
  if (venueOrderId === "") return err({ kind: "protocol", reason: `venue answer lacks the order id (${answer.venueOrderId})` });
  const rawStatus = getPath(root, answer.status);
  if (typeof rawStatus !== "string") return err({ kind: "protocol", reason: `venue answer lacks the order status (${answer.status})` });
  const st = mapStatus(rules.enums, rawStatus);
  if (!st.ok) return st;
  const filled = decimalOrEmpty(getPath(root, answer.filledQuantity), "filled quantity");
  if (!filled.ok) return filled;
  let avg = decimalOrEmpty(getPath(root, answer.averagePrice), "average price");
  if (!avg.ok) return avg;
  if (avg.value !== "" && new Decimal(avg.value).isZero()) avg = ok("");
  if (avg.value === "" && answer.cumulativeQuote !== undefined && filled.value !== "" && !new Decimal(filled.value).isZero()) {
    const quote = decimalOrEmpty(getPath(root, answer.cumulativeQuote), "cumulative quote");
    if (!quote.ok) return quote;
    if (quote.value !== "" && new Decimal(quote.value).gt(0)) {
      avg = ok(new Decimal(quote.value).div(filled.value).toDecimalPlaces(12).toFixed());
    }
  }
  let status = st.value;
  if (rules.partialWhenFilled && status === OrderStatus.NEW && filled.value !== "" && new Decimal(filled.value).gt(0)) {
    status = OrderStatus.PARTIALLY_FILLED;
  }
  let fills: VenueFill[] = [];
  if (answer.fills) {
    const parsed = parseFills(root, answer.fills);
    if (!parsed.ok) return parsed;
    fills = parsed.value;
  }
  const reason = scalar(getPath(root, answer.rejectReason));
  const fee = answer.cumulativeFee === undefined ? ok("") : decimalOrEmpty(getPath(root, answer.cumulativeFee), "cumulative fee");
  if (!fee.ok) return fee;
  return ok({
    status,
    venueOrderId,
    ...(filled.value !== "" ? { filledQuantity: filled.value } : {}),
    ...(avg.value !== "" ? { averageFillPrice: avg.value } : {}),
    ...(fee.value !== "" ? { cumulativeFee: fee.value } : {}),
    ...(reason !== "" ? { rejectReason: reason } : {}),
    fills,
  });
}

/**
 * The executions listed at `rule.path` of `json` (absent or null = none),
 * each with the venue's trade id, quantity, price and fee ("0" when the venue
 * gives none). Pure; a malformed execution is a `protocol` error.
 */
export function parseFills(json: unknown, rule: FillsRule): Result<VenueFill[], VenueError> {
  const arr = getPath(json, rule.path);
  const fills: VenueFill[] = [];
  if (arr === undefined || arr === null) return ok(fills);
  if (!Array.isArray(arr)) return err({ kind: "protocol", reason: `venue answer field ${rule.path || "(root)"} is not a list` });
  for (const f of arr) {
    const id = scalar(getPath(f, rule.tradeId));
    const q = decimalOrEmpty(getPath(f, rule.quantity), "fill quantity");
    const p = decimalOrEmpty(getPath(f, rule.price), "fill price");
    const fee = decimalOrEmpty(getPath(f, rule.fee), "fill fee");
    if (!q.ok) return q;
    if (!p.ok) return p;
    if (!fee.ok) return fee;
    if (id === "" || q.value === "" || p.value === "") return err({ kind: "protocol", reason: "venue fill lacks id, quantity or price" });
    const t = Number(scalar(getPath(f, rule.timeMs)));
    fills.push({
      venueTradeId: id,
      quantity: q.value,
      price: p.value,
      fee: fee.value === "" ? "0" : fee.value,
      feeCurrency: scalar(getPath(f, rule.feeCurrency)),
      timeMs: Number.isFinite(t) ? t : 0,
    });
  }
  return ok(fills);
}

/**
 * Of `trades`, the venue's complete list of the order's executions in the
 * order they happened, those the gateway has not counted yet: the leading
 * trades that make up the filled quantity it knows are skipped (it may know
 * them as real trades or as one synthesized fill), then trades are taken up
 * to the venue's new total. undefined when the list does not explain that
 * total exactly (a trade not listed yet, a known total that falls inside a
 * trade): the caller then falls back to synthesizeFill rather than risk
 * counting an execution twice or not at all.
 */
export function newExecutions(order: Order, update: VenueOrderUpdate, trades: readonly VenueFill[]): VenueFill[] | undefined {
  if (update.filledQuantity === undefined) return undefined;
  const before = new Decimal(order.filledQuantity === "" ? "0" : order.filledQuantity);
  const total = new Decimal(update.filledQuantity);
  let cum = new Decimal(0);
  const out: VenueFill[] = [];
  for (const t of trades) {
    if (cum.eq(total)) break;
    const next = cum.plus(t.quantity);
    if (next.lte(before)) {
      cum = next;
      continue;
    }
    if (cum.lt(before) || next.gt(total)) return undefined;
    out.push(t);
    cum = next;
  }
  return cum.eq(total) && out.length > 0 ? out : undefined;
}

/**
 * The quote currency of a gateway symbol such as "BTC-USD" or "ETH/EUR" ("" when the symbol does
 * not say). Kraken and Coinbase charge fees in the quote currency unless told otherwise (the
 * gateway never sends Kraken's fcib/fciq flags).
 */
export function quoteCurrencyOf(symbol: string): string {
  const m = /[-/]([^-/]+)$/.exec(symbol);
  return m === null ? "" : m[1]!;
}

/**
 * The trade id of a fill synthesized from an order's totals: the venue order id and the
 * cumulative quantity it brings the order to. Deterministic, so REST answers and totals-only
 * stream events (and a re-synthesis, see user-stream/stream-update.ts) name one rise alike.
 */
export function syntheticTradeId(venueOrderId: string, cumulativeQuantity: string): string {
  return `${venueOrderId}:${cumulativeQuantity}`;
}

/**
 * For venues whose order answers carry only cumulative totals (no per-trade
 * list): turns the increase since what the gateway already knows into one
 * fill, whose id is derived from the cumulative quantity so the same answer
 * seen twice yields the same id (the gateway de-duplicates by it).
 *
 * Its fee is the increase of the venue's running fee total over the total
 * recorded with the order's last fill (Order.venueFeeTotal), in decimal
 * arithmetic: summed over the order's fills it is exactly the venue's total.
 * A venue that reports no total gives "0" (unknown, as before).
 */
export function synthesizeFill(order: Order, update: VenueOrderUpdate, timeMs: number): VenueOrderUpdate {
  if (update.fills.length > 0 || update.filledQuantity === undefined) return update;
  const now = new Decimal(update.filledQuantity);
  const before = new Decimal(order.filledQuantity === "" ? "0" : order.filledQuantity);
  if (!now.gt(before)) return update;
  const delta = now.minus(before);
  let price = update.averageFillPrice ?? "";
  if (price !== "" && order.averageFillPrice !== "" && before.gt(0)) {
    // Price of just this slice: (total value now - total value before) / delta.
    const value = now.times(price).minus(before.times(order.averageFillPrice));
    price = value.div(delta).toDecimalPlaces(12).toFixed();
  }
  if (price === "") return update;
  let fee = "0";
  let feeCurrency = "";
  if (update.cumulativeFee !== undefined) {
    const feeBefore = new Decimal(order.venueFeeTotal ?? "0");
    const feeNow = new Decimal(update.cumulativeFee);
    // A total below the recorded one would be a venue correction we cannot attribute: charge nothing
    // to this slice rather than a negative fee (the order manager never lowers the recorded total).
    fee = feeNow.gt(feeBefore) ? feeNow.minus(feeBefore).toFixed() : "0";
    feeCurrency = update.feeCurrency ?? quoteCurrencyOf(order.symbol);
  }
  return {
    ...update,
    fills: [{ venueTradeId: syntheticTradeId(update.venueOrderId, now.toFixed()), quantity: delta.toFixed(), price, fee, feeCurrency, timeMs, fromTotals: true }],
  };
}
