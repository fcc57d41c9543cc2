"""A short trading-gateway client in Python with grpcio: place, replace, cancel, stream order
events with resume, and decode google.rpc error details.

Generate the stubs first (see README.md), then from the repository root:

    PYTHONPATH=examples/python/gen python3 examples/python/trading_client.py

Settings: GATEWAY (127.0.0.1:50051), ACCOUNT (acct-1), VENUE (paper), SYMBOL (BTC-USD), API_KEY.
"""
import os
import threading
import time

import grpc
from google.rpc import error_details_pb2, status_pb2
from trading.v1 import trading_gateway_pb2 as pb
from trading.v1 import trading_gateway_pb2_grpc as pb_grpc

target = os.environ.get("GATEWAY", "127.0.0.1:50051")
account = os.environ.get("ACCOUNT", "acct-1")
venue = os.environ.get("VENUE", "paper")
symbol = os.environ.get("SYMBOL", "BTC-USD")
run = os.environ.get("RUN_ID", format(int(time.time() * 1000), "x"))
metadata = [("authorization", "Bearer " + os.environ["API_KEY"])] if os.environ.get("API_KEY") else []

channel = grpc.insecure_channel(target)
stub = pb_grpc.TradingGatewayStub(channel)


def status_name(enum, value):
    return enum.Name(value)


def describe_error(e: grpc.RpcError) -> str:
    """The gRPC status, then each google.rpc detail of the grpc-status-details-bin trailer."""
    lines = [f"error {e.code().name}: {e.details()}"]
    raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
    if raw is None:
        return "\n".join(lines)
    status = status_pb2.Status.FromString(raw)
    for any_detail in status.details:
        if any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            d = error_details_pb2.BadRequest()
            any_detail.Unpack(d)
            for v in d.field_violations:
                lines.append(f"  BadRequest field {v.field}: {v.description}")
        elif any_detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            d = error_details_pb2.ErrorInfo()
            any_detail.Unpack(d)
            lines.append(f"  ErrorInfo reason {d.reason} domain {d.domain} {dict(d.metadata)}")
        elif any_detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            d = error_details_pb2.RetryInfo()
            any_detail.Unpack(d)
            lines.append(f"  RetryInfo retry after {d.retry_delay.seconds}s {d.retry_delay.nanos}ns")
        else:
            lines.append(f"  {any_detail.type_url}")
    return "\n".join(lines)


# --- StreamOrderEvents with resume ---------------------------------------------------------------
seen = []  # (stream generation, event)
last_sequence = 0
generation = 0
lock = threading.Lock()


def open_stream(after_sequence: int):
    global generation
    generation += 1
    gen = generation
    call = stub.StreamOrderEvents(pb.StreamOrderEventsRequest(account=account, after_sequence=after_sequence), metadata=metadata)

    def pump():
        global last_sequence
        try:
            for m in call:
                ev = m.event
                with lock:
                    last_sequence = ev.sequence
                    seen.append((gen, ev))
                print(f"event #{ev.sequence} {pb.OrderEventType.Name(ev.type)} {ev.order.client_order_id} "
                      f"{pb.OrderStatus.Name(ev.order.status) if ev.HasField('order') else ''}", flush=True)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                print(describe_error(e), flush=True)

    threading.Thread(target=pump, daemon=True).start()
    return call


def until(cond, what):
    end = time.time() + 5
    while time.time() < end:
        with lock:
            if cond():
                return
        time.sleep(0.02)
    raise TimeoutError("timed out waiting for " + what)


stream = open_stream(0)

# A market order: its fill price tells where the market is (prices are decimal strings).
market = stub.PlaceOrder(pb.PlaceOrderRequest(client_order_id=f"mkt-{run}", account=account, venue=venue, symbol=symbol,
                                              side=pb.SIDE_BUY, type=pb.ORDER_TYPE_MARKET, time_in_force=pb.TIME_IN_FORCE_IOC,
                                              quantity="0.01"), metadata=metadata, timeout=5).order
print(f"placed {market.client_order_id}: {pb.OrderStatus.Name(market.status)} at {market.average_fill_price}", flush=True)


def below(pct: int) -> str:
    # Integer arithmetic on the decimal string: never floats for prices.
    return str(int(market.average_fill_price.split(".")[0]) * (100 - pct) // 100)


limit = stub.PlaceOrder(pb.PlaceOrderRequest(client_order_id=f"lmt-{run}", account=account, venue=venue, symbol=symbol,
                                             side=pb.SIDE_BUY, type=pb.ORDER_TYPE_LIMIT, time_in_force=pb.TIME_IN_FORCE_GTC,
                                             quantity="0.01", price=below(5)), metadata=metadata, timeout=5).order
print(f"placed {limit.client_order_id}: {pb.OrderStatus.Name(limit.status)} at limit {limit.price}", flush=True)

until(lambda: any(e.order.client_order_id == f"lmt-{run}" for _, e in seen), "the limit order's events")
# Drop the stream and resume after the last sequence received: nothing is lost or repeated.
stream.cancel()
with lock:
    resume_after = last_sequence
print(f"stream closed after sequence {resume_after}; resuming", flush=True)
stream = open_stream(resume_after)

rep = stub.ReplaceOrder(pb.ReplaceOrderRequest(order_id=limit.order_id, account=account, new_client_order_id=f"lmt2-{run}",
                                               quantity="0.02", price=below(6)), metadata=metadata, timeout=5)
print(f"replaced {rep.order.client_order_id}: {pb.OrderStatus.Name(rep.order.status)} quantity {rep.order.quantity} "
      f"price {rep.order.price} ({pb.ReplaceMethod.Name(rep.method)})", flush=True)
canceled = stub.CancelOrder(pb.CancelOrderRequest(order_id=rep.order.order_id, account=account), metadata=metadata, timeout=5).order
print(f"canceled {canceled.client_order_id}: {pb.OrderStatus.Name(canceled.status)}", flush=True)
until(lambda: any(g == 2 and e.order.order_id == rep.order.order_id and e.order.status == pb.ORDER_STATUS_CANCELED
                  for g, e in seen), "the cancel's event after the resume")
with lock:
    # Everything the resumed stream delivered: it must start right after resume_after, without gap or repeat.
    after = [e.sequence for g, e in seen if g == 2]
gapless = after == list(range(resume_after + 1, resume_after + 1 + len(after)))
print(f"resumed after sequence {resume_after}: {len(after)} events, {'no gap, no repeat' if gapless else 'GAP OR REPEAT'}", flush=True)

# A refused order: INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
try:
    stub.PlaceOrder(pb.PlaceOrderRequest(client_order_id=f"bad-{run}", account=account, venue=venue, symbol=symbol,
                                         side=pb.SIDE_BUY, type=pb.ORDER_TYPE_LIMIT, time_in_force=pb.TIME_IN_FORCE_GTC,
                                         quantity="-1", price="1"), metadata=metadata, timeout=5)
    print("the bad order was accepted?")
    raise SystemExit(1)
except grpc.RpcError as e:
    print(describe_error(e), flush=True)
stream.cancel()
channel.close()
