import { invalidArgument, type FieldViolation, type GatewayError } from "../domain/errors.js";
import type { Order } from "../domain/order.js";
import { err, ok, type Result } from "../domain/result.js";
import { mayUseAccount, type Principal } from "../domain/principal.js";
import { ACCOUNT_PATTERN, CLIENT_ORDER_ID_PATTERN } from "./validate.js";
import type { OrderManager } from "./order-manager.js";

/** How CancelOrder and GetOrderStatus name an order. */
export interface OrderRef {
  readonly orderId: string;
  readonly clientOrderId: string;
  readonly account: string;
}

const ORDER_ID_MAX = 128;

/**
 * Finds an order by `order_id`, or by `client_order_id` + `account`.
 * - Neither given, or client_order_id without account: INVALID_ARGUMENT naming the field.
 * - Both given and they disagree (another client order id or account): NOT_FOUND,
 *   since no single order matches the request.
 * - Visibility: an explicit `account` the caller may not use is PERMISSION_DENIED
 *   (the caller named it, nothing is revealed); an order found by `order_id` that
 *   belongs to an account the caller may not use is NOT_FOUND, so order ids of
 *   other accounts cannot be probed for existence.
 */
export function findOrder(orders: OrderManager, ref: OrderRef, principal: Principal): Result<Order, GatewayError> {
  const violations: FieldViolation[] = [];
  if (ref.orderId === "" && ref.clientOrderId === "") {
    violations.push({ field: "order_id", description: "is required unless client_order_id and account are given" });
  }
  if (ref.orderId.length > ORDER_ID_MAX) violations.push({ field: "order_id", description: `must be at most ${ORDER_ID_MAX} characters` });
  if (ref.clientOrderId !== "" && !CLIENT_ORDER_ID_PATTERN.test(ref.clientOrderId)) {
    violations.push({ field: "client_order_id", description: "must be 1..64 characters of [A-Za-z0-9._:-]" });
  }
  if (ref.account !== "" && !ACCOUNT_PATTERN.test(ref.account)) {
    violations.push({ field: "account", description: "must be 1..64 characters of [A-Za-z0-9._:@-]" });
  } else if (ref.orderId === "" && ref.clientOrderId !== "" && ref.account === "") {
    violations.push({ field: "account", description: "is required with client_order_id" });
  }
  if (violations.length > 0) return err(invalidArgument(violations));
  if (ref.account !== "" && !mayUseAccount(principal, ref.account)) {
    return err({ kind: "permission_denied", message: `this API key may not see account ${ref.account}` });
  }

  let order: Order | undefined;
  if (ref.orderId !== "") {
    order = orders.get(ref.orderId);
    if (order !== undefined) {
      // An earlier client id of a replaced order names it too.
      if (ref.clientOrderId !== "" && order.clientOrderId !== ref.clientOrderId && order.replacedClientOrderIds?.includes(ref.clientOrderId) !== true) order = undefined;
      else if (ref.account !== "" && order.account !== ref.account) order = undefined;
    }
  } else {
    order = orders.getByClientOrderId(ref.account, ref.clientOrderId);
  }
  if (order === undefined || !mayUseAccount(principal, order.account)) {
    const what = ref.orderId !== "" ? `order_id ${ref.orderId}` : `client_order_id ${ref.clientOrderId} of account ${ref.account}`;
    return err({
      kind: "not_found",
      message: `no order with ${what}${ref.orderId !== "" && ref.clientOrderId !== "" ? ` and client_order_id ${ref.clientOrderId}` : ""}`,
    });
  }
  return ok(order);
}
