/**
 * The whole pre-trade risk check (per-order limits of risk.ts, then the position limits of
 * position-risk.ts) with 10,000 positions held, per order. No server, no venue: the check as
 * PlaceOrder calls it, with every limit on ("*": maxQuantity, maxNotional, maxPosition,
 * maxGrossExposure, dailyLossLimit). Positions are spread over `--accounts` accounts (100
 * symbols each by default; --accounts 1 puts all 10,000 in one account, the gross-exposure
 * worst case). Between checks a fill lands now and then (--fill-every), so the exposure's
 * incremental re-valuation is part of the figure. Prints ns per check and per fill.
 *
 *   node_modules/.bin/node --import tsx bench/risk-check.ts [--positions 10000] [--accounts 100]
 *     [--orders 200000] [--fill-every 10] [--math scaled|decimal.js]
 */
import { parseArgs } from "node:util";
import { Decimal } from "../src/domain/decimal.js";
import { OrderType, Side, TimeInForce, type Fill, type OrderSpec } from "../src/domain/order.js";
import { createOpenOrderExposure } from "../src/use-cases/open-order-exposure.js";
import { createPositionBook } from "../src/use-cases/position-book.js";
import { createPositionRisk, type PositionRisk } from "../src/use-cases/position-risk.js";
import { createRiskEngine, type RiskLimitsConfig } from "../src/use-cases/risk.js";
import { decimalMathNamed } from "../src/domain/decimal-math-named.js";

const { values } = parseArgs({
  options: {
    positions: { type: "string", default: "10000" },
    accounts: { type: "string", default: "100" },
    orders: { type: "string", default: "200000" },
    "fill-every": { type: "string", default: "10" },
    // DECIMAL_MATH: scaled (the default) or decimal.js (the reference), to compare the two.
    math: { type: "string", default: "scaled" },
  },
});
const positions = Number(values.positions);
const accounts = Number(values.accounts);
const orders = Number(values.orders);
const fillEvery = Number(values["fill-every"]);
const perAccount = Math.ceil(positions / accounts);

const limits: RiskLimitsConfig = {
  "*": { maxQuantity: "1000000", maxNotional: "1000000000000", maxPosition: "1000000", maxGrossExposure: "1000000000000000", dailyLossLimit: "1000000000" },
};
const now = Date.UTC(2026, 11, 6, 12);
const clock = { nowMs: () => now };
const reference = (_venue: string, symbol: string): string | undefined => (symbol.endsWith("7") ? undefined : "101.25");

const math = decimalMathNamed(values.math === "decimal.js" ? "decimal.js" : "scaled");
const book = createPositionBook({ math });
let seq = 0n;
function fill(account: string, symbol: string, side: Side, quantity: string, price: string): Fill {
  seq++;
  return { sequence: seq, fillId: `f${seq}`, orderId: "o", clientOrderId: "c", account, venue: "paper", symbol, side, quantity, price, fee: "0.01", feeCurrency: "USD", timeMs: now, venueTradeId: `t${seq}` };
}
const acct = (i: number): string => `acct-${i}`;
const sym = (j: number): string => `S${j}-USD`;
for (let i = 0; i < accounts; i++) for (let j = 0; j < perAccount && i * perAccount + j < positions; j++) book.applyFill(fill(acct(i), sym(j), j % 2 === 0 ? Side.BUY : Side.SELL, "3.5", "100.5"));

let risk: PositionRisk | undefined;
const open = createOpenOrderExposure((a, v, s) => risk?.touched(a, v, s), math);
risk = createPositionRisk({ book, openOrders: open, limits, referencePrice: reference, clock, reduceOnly: () => undefined, onDailyLossBreached: () => {} });
const orderRisk = createRiskEngine(limits, { referencePrice: reference, math }).check;
const positionCheck = risk.check;
const check = (spec: OrderSpec) => {
  const r = orderRisk(spec);
  return r.ok ? positionCheck(spec) : r;
};

const specs: OrderSpec[] = [];
for (let k = 0; k < 1024; k++) {
  specs.push({
    clientOrderId: `c${k}`,
    account: acct(k % accounts),
    venue: "paper",
    symbol: sym((k * 7) % perAccount),
    side: k % 3 === 0 ? Side.SELL : Side.BUY,
    type: k % 2 === 0 ? OrderType.MARKET : OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    quantity: "0.25",
    price: k % 2 === 0 ? "" : "101.5",
    stopPrice: "",
    idempotencyKey: "",
  });
}

function run(n: number): { checkNs: number; fillNs: number; fills: number } {
  let checkNs = 0n;
  let fillNs = 0n;
  let fills = 0;
  let failures = 0;
  for (let k = 0; k < n; k++) {
    const s = specs[k & 1023]!;
    const t0 = process.hrtime.bigint();
    const r = check(s);
    checkNs += process.hrtime.bigint() - t0;
    if (!r.ok) failures++;
    if (fillEvery > 0 && k % fillEvery === 0) {
      const t1 = process.hrtime.bigint();
      book.applyFill(fill(s.account, s.symbol, s.side, "0.01", "101"));
      fillNs += process.hrtime.bigint() - t1;
      fills++;
    }
  }
  if (failures > 0) throw new Error(`${failures} checks refused: the limits are meant to pass`);
  return { checkNs: Number(checkNs) / n, fillNs: fills === 0 ? 0 : Number(fillNs) / fills, fills };
}

/** ns of one decimal.js parse + multiply + add on this machine now: a yardstick for a loaded host. */
function yardstick(): number {
  const n = 50_000;
  let x = new Decimal(0);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) x = new Decimal("101.25").times("3.5").plus(x);
  return Number(process.hrtime.bigint() - t) / n;
}

run(Math.min(20_000, orders)); // warm-up (JIT, the accounts' exposure built once)
const before = yardstick();
const r = run(orders);
const after = yardstick();
console.log(
  JSON.stringify({
    node: process.version,
    positions: book.size,
    accounts,
    orders,
    nsPerCheck: Math.round(r.checkNs),
    nsPerFill: Math.round(r.fillNs),
    fills: r.fills,
    math: math.name,
    nsPerDecimalParseMulAdd: Math.round((before + after) / 2),
  }),
);
