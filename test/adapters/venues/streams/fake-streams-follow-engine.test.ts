import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { OrderType, Side, TimeInForce } from "../../../../gen/trading/v1/trading_gateway_pb.js";
import { startAlpacaCoinbaseGateway } from "../../../helpers/alpaca-coinbase-gateway.js";

/**
 * The fill-latency bench fills Alpaca and Coinbase orders with `fake.fill()` alone and times the
 * push: their fake stream servers, started with followEngine (test/helpers/alpaca-coinbase-gateway.ts),
 * must push the fill as the engine makes it. Polling is 10 minutes both ways here, so a fill that
 * arrives came by push.
 */

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const kind of ["alpaca", "coinbase"] as const) {
  describe(`${kind} fake stream following the engine`, () => {
    test("fake.fill() alone reaches StreamFills by push, once per fill", async () => {
      const g = await startAlpacaCoinbaseGateway(kind, { pollIntervalMs: 600_000, streamPollIntervalMs: 600_000 });
      const ac = new AbortController();
      const fills: Array<{ orderId: string; quantity: string; price: string }> = [];
      const reading = (async () => {
        for await (const m of g.client.streamFills({}, { signal: ac.signal })) if (m.fill) fills.push({ orderId: m.fill.orderId, quantity: m.fill.quantity, price: m.fill.price });
      })().catch(() => undefined);
      try {
        await until("stream live", () => g.core.userStreams().some((s) => s.venue === kind && s.state === "connected"));
        const placed = await g.client.placeOrder({
          clientOrderId: `follow-${kind}`,
          account: "acct-f",
          venue: kind,
          symbol: "BTC-USD",
          side: Side.BUY,
          type: OrderType.LIMIT,
          timeInForce: TimeInForce.GTC,
          quantity: "1",
          price: "100",
          idempotencyKey: `follow-${kind}`,
        });
        const vo = [...g.fake.engine.orders.values()].at(-1)!;
        g.fake.fill(vo.clientOrderId, "0.4", "100");
        await until("first fill", () => fills.length >= 1);
        g.fake.fill(vo.clientOrderId, "0.6", "100");
        await until("second fill", () => fills.length >= 2);
        assert.deepEqual(
          fills.map((f) => [f.orderId, Number(f.quantity), Number(f.price)]),
          [
            [placed.order!.orderId, 0.4, 100],
            [placed.order!.orderId, 0.6, 100],
          ],
        );
      } finally {
        ac.abort();
        await reading;
        await g.close();
      }
    });
  });
}
