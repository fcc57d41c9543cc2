import type { HandlerContext } from "@connectrpc/connect";
import type {
  Amount,
  GetPositionsRequest,
  GetPositionsResponse,
  Position as ProtoPosition,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { Position } from "../domain/position.js";
import { getPositions } from "../use-cases/get-positions.js";
import type { PositionBook } from "../use-cases/position-book.js";
import { principalKey } from "./interceptors/context-keys.js";
import { msToTimestamp } from "./proto-mapping.js";
import { toConnectError } from "./to-connect-error.js";

/** A position's fees in other currencies as proto Amounts, by currency name (code-unit order). */
export function toProtoAmounts(fees: Readonly<Record<string, string>>): Amount[] {
  return Object.keys(fees)
    .sort()
    .map((currency) => ({ $typeName: "trading.v1.Amount", currency, amount: fees[currency]! }));
}

/** Domain position -> proto Position (decimal strings as they are; other fees by currency name). */
export function toProtoPosition(p: Position): ProtoPosition {
  const otherFees = toProtoAmounts(p.otherFees);
  return {
    $typeName: "trading.v1.Position",
    account: p.account,
    venue: p.venue,
    symbol: p.symbol,
    quantity: p.quantity,
    averageEntryPrice: p.averageEntryPrice,
    realizedPnl: p.realizedPnl,
    fees: p.fees,
    otherFees,
    updatedAt: msToTimestamp(p.updatedAtMs),
    lastFillSequence: p.lastFillSequence,
  };
}

/** The GetPositions handler over the position book. */
export function createGetPositionsHandler(book: PositionBook): (req: GetPositionsRequest, ctx: HandlerContext) => GetPositionsResponse {
  return (req, ctx) => {
    const r = getPositions(book, { account: req.account, venue: req.venue, symbol: req.symbol }, ctx.values.get(principalKey));
    if (!r.ok) throw toConnectError(r.error);
    return { $typeName: "trading.v1.GetPositionsResponse", positions: r.value.map(toProtoPosition) };
  };
}
