import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { TradingGateway, type ListFillsResponse, type ListOrdersResponse } from "../../gen/trading/v1/trading_gateway_pb.js";
import type { ListFills, ListOrders } from "../use-cases/list-orders.js";
import { principalKey } from "./interceptors/context-keys.js";
import { toProtoFill, toProtoOrder } from "./proto-mapping.js";
import { toConnectError } from "./to-connect-error.js";

type Service = ServiceImpl<typeof TradingGateway>;

/**
 * A Timestamp bound in whole ms, rounded up: orders carry ms, so "at or after t" is ms >= ceil(t)
 * and "before t" is ms < ceil(t), exactly, for a bound with sub-ms nanos too. Absent: undefined.
 */
export function boundMs(ts: Timestamp | undefined): number | undefined {
  if (ts === undefined) return undefined;
  return Number(ts.seconds) * 1000 + Math.ceil(ts.nanos / 1_000_000);
}

/** ListOrders: proto -> domain, the use-case (src/use-cases/list-orders.ts), domain -> proto. */
export function createListOrdersHandler(listOrders: ListOrders): Service["listOrders"] {
  return async (req, ctx): Promise<ListOrdersResponse> => {
    const r = await listOrders(
      {
        account: req.account,
        venue: req.venue,
        symbol: req.symbol,
        statuses: req.statuses,
        openOnly: req.openOnly,
        createdAfterMs: boundMs(req.createdAfter),
        createdBeforeMs: boundMs(req.createdBefore),
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      },
      ctx.values.get(principalKey),
    );
    if (!r.ok) throw toConnectError(r.error);
    return { $typeName: "trading.v1.ListOrdersResponse", orders: r.value.items.map(toProtoOrder), nextPageToken: r.value.nextPageToken };
  };
}

export function createListFillsHandler(listFills: ListFills): Service["listFills"] {
  return async (req, ctx): Promise<ListFillsResponse> => {
    const r = await listFills(
      {
        account: req.account,
        orderId: req.orderId,
        symbol: req.symbol,
        venue: req.venue,
        timeAfterMs: boundMs(req.timeAfter),
        timeBeforeMs: boundMs(req.timeBefore),
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      },
      ctx.values.get(principalKey),
    );
    if (!r.ok) throw toConnectError(r.error);
    return { $typeName: "trading.v1.ListFillsResponse", fills: r.value.items.map(toProtoFill), nextPageToken: r.value.nextPageToken };
  };
}
