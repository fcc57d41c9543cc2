import { invalidArgument, type FieldViolation, type GatewayError } from "../domain/errors.js";
import { OrderStatus, type Fill, type Order } from "../domain/order.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import { err, ok, type Result } from "../domain/result.js";
import { admittedStatuses, orderMatches, type FillQuery, type OrderHistory, type OrderQuery } from "./order-history.js";
import { decodePageToken, encodePageToken, filterDigest } from "./page-token.js";
import { ACCOUNT_PATTERN } from "./validate.js";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Longest venue, symbol or order id filter (as StreamFills' filters). */
const MAX_FILTER_LENGTH = 128;

/** ListOrders' request in domain terms (times already in ms; see rpc/list-orders.ts). */
export interface ListOrdersInput {
  readonly account: string;
  readonly venue: string;
  readonly symbol: string;
  readonly statuses: readonly number[];
  readonly openOnly: boolean;
  readonly createdAfterMs?: number | undefined;
  readonly createdBeforeMs?: number | undefined;
  readonly pageSize: number;
  readonly pageToken: string;
}

export interface ListFillsInput {
  readonly account: string;
  readonly orderId: string;
  readonly symbol: string;
  readonly venue: string;
  readonly timeAfterMs?: number | undefined;
  readonly timeBeforeMs?: number | undefined;
  readonly pageSize: number;
  readonly pageToken: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** "" on the last page. */
  readonly nextPageToken: string;
}

export type ListOrders = (input: ListOrdersInput, principal: Principal) => Promise<Result<Page<Order>, GatewayError>>;
export type ListFills = (input: ListFillsInput, principal: Principal) => Promise<Result<Page<Fill>, GatewayError>>;

export interface ListDeps {
  readonly history: OrderHistory;
  /** The order manager's view of an order (newer than a history that is not `current`). */
  readonly live?: (orderId: string) => Order | undefined;
}

const KNOWN_STATUSES: ReadonlySet<number> = new Set(Object.values(OrderStatus).filter((s) => typeof s === "number" && s !== OrderStatus.UNSPECIFIED));

function checkCommon(
  v: FieldViolation[],
  i: { readonly account: string; readonly venue: string; readonly symbol: string; readonly pageSize: number },
  after: { field: string; ms: number | undefined },
  before: number | undefined,
): void {
  if (i.account === "") v.push({ field: "account", description: "is required" });
  else if (!ACCOUNT_PATTERN.test(i.account)) v.push({ field: "account", description: "must be 1..64 characters of [A-Za-z0-9._:@-]" });
  if (i.venue.length > MAX_FILTER_LENGTH) v.push({ field: "venue", description: `must be at most ${MAX_FILTER_LENGTH} characters` });
  if (i.symbol.length > MAX_FILTER_LENGTH) v.push({ field: "symbol", description: `must be at most ${MAX_FILTER_LENGTH} characters` });
  if (!Number.isInteger(i.pageSize) || i.pageSize < 0 || i.pageSize > MAX_PAGE_SIZE) {
    v.push({ field: "page_size", description: `must be 1..${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE})` });
  }
  if (after.ms !== undefined && before !== undefined && after.ms >= before) {
    v.push({ field: after.field, description: "must be before the end of the time range" });
  }
}

const badToken = (): GatewayError =>
  invalidArgument([{ field: "page_token", description: "is not a next_page_token of this RPC with the same filters; start again with an empty page_token" }]);

function denied(account: string): GatewayError {
  return { kind: "permission_denied", message: `this API key may not see account ${account}` };
}

/**
 * ListOrders: checks the request and the caller's right to the account, reads one page more than
 * asked from the order history (to know whether another page follows) and answers newest first.
 * Keyset paging on (created_at, order_id) descending: the token holds the last order's key, so
 * orders created meanwhile (newer keys) never shift or repeat later pages.
 */
export function createListOrders(deps: ListDeps): ListOrders {
  const { history } = deps;
  const live = history.current ? undefined : deps.live;
  return async (input, principal) => {
    const v: FieldViolation[] = [];
    checkCommon(v, input, { field: "created_after", ms: input.createdAfterMs }, input.createdBeforeMs);
    if (input.statuses.some((s) => !KNOWN_STATUSES.has(s))) {
      v.push({ field: "statuses", description: "each must be a known status other than ORDER_STATUS_UNSPECIFIED" });
    }
    if (v.length > 0) return err(invalidArgument(v));
    if (!mayUseAccount(principal, input.account)) return err(denied(input.account));

    const statuses = [...new Set(input.statuses as OrderStatus[])].sort((a, b) => a - b);
    const filters = {
      a: input.account,
      v: input.venue,
      s: input.symbol,
      st: statuses,
      o: input.openOnly,
      ca: input.createdAfterMs ?? null,
      cb: input.createdBeforeMs ?? null,
    };
    const digest = filterDigest(filters);
    let after: OrderQuery["after"];
    if (input.pageToken !== "") {
      const c = decodePageToken(input.pageToken, "orders", digest);
      if (c === undefined || c.length !== 2 || typeof c[0] !== "number" || !Number.isSafeInteger(c[0]) || typeof c[1] !== "string") return err(badToken());
      after = { createdAtMs: c[0], orderId: c[1] };
    }
    const size = input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
    const q: OrderQuery = {
      account: input.account,
      venue: input.venue,
      symbol: input.symbol,
      statuses,
      openOnly: input.openOnly,
      createdAfterMs: input.createdAfterMs,
      createdBeforeMs: input.createdBeforeMs,
      after,
      limit: size + 1,
    };
    const r = await history.listOrders(q);
    if (!r.ok) return r;
    const examined = r.value.slice(0, size);
    let items: readonly Order[] = examined;
    if (live !== undefined) {
      // The store may lag the order manager (a batch not yet committed): its newer state wins, and
      // the filters are applied again to it (an order that moved out of the statuses is left out).
      const admitted = admittedStatuses(q);
      items = examined.map((o) => live(o.orderId) ?? o).filter((o) => orderMatches(o, q, admitted));
    }
    const last = examined.at(-1);
    const nextPageToken = r.value.length > size && last !== undefined ? encodePageToken("orders", digest, [last.createdAtMs, last.orderId]) : "";
    return ok({ items, nextPageToken });
  };
}

/** ListFills: as ListOrders, paged by fill sequence descending. */
export function createListFills(deps: ListDeps): ListFills {
  const { history } = deps;
  return async (input, principal) => {
    const v: FieldViolation[] = [];
    checkCommon(v, input, { field: "time_after", ms: input.timeAfterMs }, input.timeBeforeMs);
    if (input.orderId.length > MAX_FILTER_LENGTH) v.push({ field: "order_id", description: `must be at most ${MAX_FILTER_LENGTH} characters` });
    if (v.length > 0) return err(invalidArgument(v));
    if (!mayUseAccount(principal, input.account)) return err(denied(input.account));

    const digest = filterDigest({
      a: input.account,
      o: input.orderId,
      s: input.symbol,
      v: input.venue,
      ta: input.timeAfterMs ?? null,
      tb: input.timeBeforeMs ?? null,
    });
    let beforeSequence: bigint | undefined;
    if (input.pageToken !== "") {
      const c = decodePageToken(input.pageToken, "fills", digest);
      if (c === undefined || c.length !== 1 || typeof c[0] !== "string" || !/^[1-9][0-9]{0,19}$/.test(c[0])) return err(badToken());
      beforeSequence = BigInt(c[0]);
    }
    const size = input.pageSize === 0 ? DEFAULT_PAGE_SIZE : input.pageSize;
    const q: FillQuery = {
      account: input.account,
      orderId: input.orderId,
      symbol: input.symbol,
      venue: input.venue,
      timeAfterMs: input.timeAfterMs,
      timeBeforeMs: input.timeBeforeMs,
      beforeSequence,
      limit: size + 1,
    };
    const r = await history.listFills(q);
    if (!r.ok) return r;
    const items = r.value.slice(0, size);
    const last = items.at(-1);
    const nextPageToken = r.value.length > size && last !== undefined ? encodePageToken("fills", digest, [last.sequence.toString()]) : "";
    return ok({ items, nextPageToken });
  };
}
