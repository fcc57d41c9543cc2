import type { HandlerContext } from "@connectrpc/connect";
import type { GetBalancesRequest, GetBalancesResponse, VenueBalances } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Clock } from "../domain/ports.js";
import type { VenueBalanceSnapshot } from "../use-cases/balance-cache.js";
import type { GetBalances } from "../use-cases/get-balances.js";
import { principalKey } from "./interceptors/context-keys.js";
import { msToTimestamp } from "./proto-mapping.js";
import { toConnectError } from "./to-connect-error.js";

export type GetBalancesHandler = (req: GetBalancesRequest, ctx: HandlerContext) => Promise<GetBalancesResponse>;

/** One venue's snapshot as the wire message; age_ms is computed at answer time. */
export function toProtoVenueBalances(s: VenueBalanceSnapshot, nowMs: number): VenueBalances {
  return {
    $typeName: "trading.v1.VenueBalances",
    venue: s.venue,
    balances: s.balances.map((b) => ({ $typeName: "trading.v1.Balance", asset: b.asset, free: b.free, locked: b.locked })),
    ...(s.asOfMs !== undefined ? { asOf: msToTimestamp(s.asOfMs) } : {}),
    ageMs: s.asOfMs === undefined ? 0n : BigInt(Math.max(0, nowMs - s.asOfMs)),
    error: s.error ?? "",
  };
}

export function createGetBalancesHandler(deps: { readonly getBalances: GetBalances; readonly clock: Clock }): GetBalancesHandler {
  return async (req, ctx) => {
    const timeout = ctx.timeoutMs();
    const deadlineMs = timeout === undefined ? undefined : deps.clock.nowMs() + timeout;
    const r = await deps.getBalances({ account: req.account, venue: req.venue }, ctx.values.get(principalKey), deadlineMs);
    if (!r.ok) throw toConnectError(r.error);
    const now = deps.clock.nowMs();
    return { $typeName: "trading.v1.GetBalancesResponse", venues: r.value.map((s) => toProtoVenueBalances(s, now)) };
  };
}
