import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CancelOutcome,
  TradingState,
  type CancelResult as ProtoCancelResult,
  type GetTradingStateResponse,
  type SetTradingStateResponse,
  type TradingGateway,
  type TradingStateSetting as ProtoSetting,
} from "../../gen/trading/v1/trading_gateway_pb.js";
import type { TradingStateName, TradingStateSetting } from "../domain/trading-state.js";
import type { CallInfo } from "../use-cases/place-order.js";
import type { CancelResult, SetTradingState } from "../use-cases/set-trading-state.js";
import type { TradingStateStore } from "../use-cases/trading-state-store.js";
import { principalKey, requestIdKey } from "./interceptors/context-keys.js";
import { msToTimestamp, toProtoOrder } from "./proto-mapping.js";
import { toConnectError } from "./to-connect-error.js";

type Impl = ServiceImpl<typeof TradingGateway>;

const FROM_PROTO: Readonly<Record<number, TradingStateName>> = {
  [TradingState.ACTIVE]: "ACTIVE",
  [TradingState.REDUCE_ONLY]: "REDUCE_ONLY",
  [TradingState.HALTED]: "HALTED",
};
const TO_PROTO: Readonly<Record<TradingStateName, TradingState>> = { ACTIVE: TradingState.ACTIVE, REDUCE_ONLY: TradingState.REDUCE_ONLY, HALTED: TradingState.HALTED };
const OUTCOME: Readonly<Record<CancelResult["outcome"], CancelOutcome>> = {
  canceled: CancelOutcome.CANCELED,
  already_terminal: CancelOutcome.ALREADY_TERMINAL,
  pending: CancelOutcome.PENDING,
  failed: CancelOutcome.FAILED,
};

export function toProtoTradingStateSetting(s: TradingStateSetting): ProtoSetting {
  return {
    $typeName: "trading.v1.TradingStateSetting",
    account: s.account,
    venue: s.venue,
    state: TO_PROTO[s.state],
    reason: s.reason,
    setBy: s.setBy,
    setAt: msToTimestamp(s.setAtMs),
  };
}

function toProtoCancelResult(r: CancelResult): ProtoCancelResult {
  return { $typeName: "trading.v1.CancelResult", order: toProtoOrder(r.order), outcome: OUTCOME[r.outcome], code: r.code ?? "", message: r.message ?? "" };
}

function callInfo(ctx: HandlerContext): CallInfo {
  return { requestId: ctx.values.get(requestIdKey), principal: ctx.values.get(principalKey) };
}

/** SetTradingState: proto -> use-case -> proto. */
export function createSetTradingStateHandler(setTradingState: SetTradingState): Impl["setTradingState"] {
  return async function (req, ctx): Promise<SetTradingStateResponse> {
    const r = await setTradingState(
      { account: req.account, venue: req.venue, state: FROM_PROTO[req.state], reason: req.reason, cancelOpenOrders: req.cancelOpenOrders },
      callInfo(ctx),
    );
    if (!r.ok) throw toConnectError(r.error);
    return { $typeName: "trading.v1.SetTradingStateResponse", setting: toProtoTradingStateSetting(r.value.setting), canceled: r.value.canceled.map(toProtoCancelResult) };
  };
}

/**
 * GetTradingState: any caller may ask about the whole gateway or a venue (a trader must know that
 * trading is halted); an account's scope is limited to the accounts of the key (the auth
 * interceptor checks `account`), except for admin keys.
 */
export function createGetTradingStateHandler(store: TradingStateStore): Impl["getTradingState"] {
  return function (req): GetTradingStateResponse {
    const r = store.get({ account: req.account, venue: req.venue });
    return { $typeName: "trading.v1.GetTradingStateResponse", effective: TO_PROTO[r.effective], settings: r.settings.map(toProtoTradingStateSetting) };
  };
}
