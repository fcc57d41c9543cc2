import type { Result } from "../../../domain/result.js";
import { err, ok } from "../../../domain/result.js";
import { OrderStatus, OrderType } from "../../../domain/order.js";
import type { VenueBalance, VenueError, VenueOpenOrder, VenueOrderUpdate } from "../../../use-cases/venue-adapter.js";
import type { HttpResponse } from "../http-client.js";
import type { BalancesPage, MassCancelRequest } from "../rest-venue-adapter.js";
import { parseJson, venueDecimal, type AmendHook } from "../rest-venue-adapter.js";
import { add, formatDecimal, sub } from "../../../domain/decimal.js";
import type { Operation, TranslateInput, TranslatorRules, UnsignedRequest } from "../translator.js";
import { encodeParams, parseOrderAnswer, translateRequest } from "../translator.js";
import { KRAKEN, krakenOpenOrderPaths, krakenRules } from "./describe.js";
import { parseOpenOrderList } from "../open-orders.js";
import { mapKrakenError } from "./errors.js";

/**
 * Cancel and query name the order by Kraken's txid once it is known (the
 * documented required key of QueryOrders), and by cl_ord_id before that
 * (outcome unknown): never both, as they are alternative identifiers.
 */
export function toKrakenRequest(op: Operation, input: TranslateInput, rules: TranslatorRules = krakenRules): Result<UnsignedRequest, VenueError> {
  if (op !== "place" && input.order.venueOrderId !== "") {
    const path = op === "cancel" ? KRAKEN.cancelOrderPath : KRAKEN.queryOrdersPath;
    return ok({ method: "POST", path, query: [], body: encodeParams([["txid", input.order.venueOrderId]]), contentType: "application/x-www-form-urlencoded" });
  }
  return translateRequest(op, input, rules);
}

/**
 * Kraken answers HTTP 200 with {"error":[...],"result":{...}}.
 * - AddOrder:   {"error":[],"result":{"descr":{"order":"buy 1.45 XBTUSD @ limit 27500.0"},"txid":["OU22CG-KLAF2-FWUDD7"]}}
 * - CancelOrder: {"error":[],"result":{"count":1}}
 * - QueryOrders: {"error":[],"result":{"<txid>":{"status":"open",...}}}
 */
export function fromKrakenResponse(
  op: Operation,
  res: HttpResponse,
  input: TranslateInput,
  rules: TranslatorRules = krakenRules,
): Result<VenueOrderUpdate, VenueError> {
  const envelope = krakenResult(res);
  if (!envelope.ok) return envelope;
  const result = envelope.value;
  switch (op) {
    case "place": {
      const txid = Array.isArray(result["txid"]) ? result["txid"][0] : undefined;
      if (typeof txid !== "string" || txid === "") return err({ kind: "protocol", reason: "venue answer lacks txid" });
      // AddOrder acknowledges only; status and fills come from QueryOrders.
      return ok({ status: OrderStatus.NEW, venueOrderId: txid, fills: [] });
    }
    case "cancel": {
      const count = Number(result["count"]);
      if (!Number.isFinite(count)) return err({ kind: "protocol", reason: "venue answer lacks count" });
      if (count === 0) return err({ kind: "not_found", reason: "venue cancelled no order (kraken count 0)" });
      return ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: input.order.venueOrderId, fills: [] });
    }
    case "query": {
      const entries = Object.entries(result);
      if (entries.length === 0) return err({ kind: "not_found", reason: "venue has no order with this client order id" });
      const [txid, order] = entries[0]!;
      if (order === null || typeof order !== "object") return err({ kind: "protocol", reason: "venue order entry is not an object" });
      return parseOrderAnswer({ ...(order as object), txid }, rules);
    }
  }
}

/** Kraken's envelope {"error":[...],"result":{...}}: the result object, or the mapped error. */
function krakenResult(res: HttpResponse): Result<Record<string, unknown>, VenueError> {
  const json = parseJson(res.bodyText);
  if (res.status === 401 || res.status === 403) return err({ kind: "auth", reason: `venue refused the credentials (HTTP ${res.status})` });
  if (!json.ok) return json;
  const body = json.value as { error?: unknown; result?: unknown } | null;
  if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
  if (Array.isArray(body.error) && body.error.some((e) => typeof e === "string" && e.startsWith("E"))) {
    return err(mapKrakenError(body.error.filter((e): e is string => typeof e === "string")));
  }
  if (res.status < 200 || res.status >= 300) return err({ kind: "protocol", reason: `venue answered HTTP ${res.status}` });
  const result = body.result as Record<string, unknown> | undefined;
  if (result === undefined || result === null || typeof result !== "object") return err({ kind: "protocol", reason: "venue answer lacks result" });
  return ok(result);
}

/** POST /0/private/BalanceEx: only the nonce (the signer adds it). */
export function toKrakenBalancesRequest(): UnsignedRequest {
  return { method: "POST", path: KRAKEN.balanceExPath, query: [], body: "", contentType: "application/x-www-form-urlencoded" };
}

/**
 * {"error":[],"result":{"ZUSD":{"balance":"25435.21","hold_trade":"8249.76"},"XXBT":{"balance":"1.2","credit":"0","credit_used":"0","hold_trade":"0"}}}
 * free = balance + credit - credit_used - hold_trade (Kraken's "available balance"); locked = hold_trade.
 */
export function fromKrakenBalances(res: HttpResponse): Result<BalancesPage, VenueError> {
  const envelope = krakenResult(res);
  if (!envelope.ok) return envelope;
  const balances: VenueBalance[] = [];
  for (const [asset, entry] of Object.entries(envelope.value)) {
    const e = entry as Record<string, unknown> | null;
    const balance = venueDecimal(e?.["balance"]);
    if (e === null || typeof e !== "object" || balance === undefined) return err({ kind: "protocol", reason: `venue balance of ${asset.slice(0, 32)} lacks balance` });
    const part = (k: string): string => venueDecimal(e[k]) ?? "0";
    const hold = part("hold_trade");
    const free = formatDecimal(sub(sub(add(balance, part("credit")), part("credit_used")), hold));
    balances.push({ asset, free, locked: hold });
  }
  return ok({ balances });
}

/**
 * CancelAll cancels every open order of the API key, so it fits only when the key is the
 * gateway's alone (exclusiveKey) and the scope holds every open gateway order on this venue.
 */
export function planKrakenMassCancel(orders: readonly TranslateInput[], others: readonly TranslateInput[], exclusiveKey: boolean): MassCancelRequest[] | undefined {
  if (!exclusiveKey || orders.length === 0 || others.length > 0) return undefined;
  return [{ request: { method: "POST", path: KRAKEN.cancelAllPath, query: [], body: "", contentType: "application/x-www-form-urlencoded" }, covers: orders }];
}

/**
 * {"error":[],"result":{"count":4}}: how many orders were canceled, not which. Every covered
 * order is reported cancel-accepted (PENDING_CANCEL) and the caller confirms each by a query,
 * which also finds one that filled before the cancel.
 */
export function fromKrakenMassCancel(res: HttpResponse, covers: readonly TranslateInput[]): Result<Map<string, Result<VenueOrderUpdate, VenueError>>, VenueError> {
  const r = krakenResult(res);
  if (!r.ok) return r;
  if (!Number.isFinite(Number(r.value["count"]))) return err({ kind: "protocol", reason: "venue answer lacks count" });
  return ok(new Map(covers.map((c) => [c.order.orderId, ok({ status: OrderStatus.PENDING_CANCEL, venueOrderId: c.order.venueOrderId, fills: [] })])));
}

/** CancelAllOrdersAfter: form body `timeout=<seconds>` (0 disables the timer). */
export function toKrakenDeadManRequest(timeoutSeconds: number): UnsignedRequest {
  return {
    method: "POST",
    path: KRAKEN.cancelAllOrdersAfterPath,
    query: [],
    body: encodeParams([["timeout", String(Math.max(0, Math.floor(timeoutSeconds)))]]),
    contentType: "application/x-www-form-urlencoded",
  };
}

/** CancelAllOrdersAfter answers {"error":[],"result":{"currentTime":"...","triggerTime":"..."}} (triggerTime "0" when disabled). */
export function fromKrakenDeadManResponse(res: HttpResponse): Result<void, VenueError> {
  const r = krakenResult(res);
  if (!r.ok) return r;
  if (typeof r.value["triggerTime"] !== "string") return err({ kind: "protocol", reason: "venue answer lacks result.triggerTime" });
  return ok(undefined);
}
/**
 * AmendOrder (docs.kraken.com/api/docs/rest-api/amend-order): in place, txid and cl_ord_id kept,
 * queue priority kept where possible. `order_qty` is the order's new total ("reducing it below
 * the filled quantity cancels the rest", so it counts what filled); `limit_price` for limit
 * types, `trigger_price` for triggered ones. Names the order by txid once known, else cl_ord_id.
 */
export const krakenAmend: AmendHook = {
  weight: 1,
  check: () => undefined,
  request(input, amend) {
    const o = input.order;
    const body: Record<string, string> = o.venueOrderId !== "" ? { txid: o.venueOrderId } : { cl_ord_id: o.venueClientOrderId };
    body["order_qty"] = formatDecimal(amend.quantity);
    if ((o.type === OrderType.LIMIT || o.type === OrderType.STOP_LIMIT) && amend.price !== "") body["limit_price"] = formatDecimal(amend.price);
    if ((o.type === OrderType.STOP || o.type === OrderType.STOP_LIMIT) && amend.stopPrice !== "") body["trigger_price"] = formatDecimal(amend.stopPrice);
    return ok({ method: "POST", path: KRAKEN.amendOrderPath, query: [], body: JSON.stringify(body), contentType: "application/json" });
  },
  parse(res, input) {
    const json = parseJson(res.bodyText);
    if (res.status === 401 || res.status === 403) return err({ kind: "auth", reason: `venue refused the credentials (HTTP ${res.status})` });
    if (!json.ok) return json;
    const body = json.value as { error?: unknown; result?: { amend_id?: unknown } } | null;
    if (body === null || typeof body !== "object") return err({ kind: "protocol", reason: "venue answer is not an object" });
    if (Array.isArray(body.error) && body.error.some((e) => typeof e === "string" && e.startsWith("E"))) {
      return err(mapKrakenError(body.error.filter((e): e is string => typeof e === "string")));
    }
    if (typeof body.result?.amend_id !== "string") return err({ kind: "protocol", reason: "venue answer lacks amend_id" });
    // The answer acknowledges only; fills keep coming from QueryOrders on the same txid.
    return ok({ update: { status: OrderStatus.NEW, venueOrderId: input.order.venueOrderId, fills: [] }, newVenueOrder: false });
  },
};

/** POST /0/private/OpenOrders: the signer adds the nonce; no filter (every open order of the key). */
export function toKrakenOpenOrdersRequest(): UnsignedRequest {
  return { method: "POST", path: KRAKEN.openOrdersPath, query: [], body: "", contentType: "application/x-www-form-urlencoded" };
}

/** {"error":[],"result":{"open":{"<txid>":{...}}}} */
export function fromKrakenOpenOrders(res: HttpResponse, rules: TranslatorRules = krakenRules): Result<{ orders: VenueOpenOrder[] }, VenueError> {
  const r = krakenResult(res);
  if (!r.ok) return r;
  const open = r.value["open"];
  if (open === null || typeof open !== "object") return err({ kind: "protocol", reason: "venue answer lacks result.open" });
  const entries = Object.entries(open as Record<string, unknown>).map(([txid, o]) => (o !== null && typeof o === "object" ? { ...(o as object), txid } : o));
  const orders = parseOpenOrderList(entries, krakenOpenOrderPaths, rules);
  return orders.ok ? ok({ orders: orders.value }) : orders;
}
