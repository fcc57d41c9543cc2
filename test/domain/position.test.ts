/**
 * Position arithmetic (src/domain/position.ts) against an independent reference model: exact
 * integers (BigInt at a fixed 10^-40 scale), the position kept as a list of opening lots, the
 * average computed from the lots when needed and rounded by hand (half-even, 18 digits). Random
 * fill sequences from a seeded generator: buys, sells, partial reductions, exact closes, flips
 * through zero, fees in the quote currency, in another currency and with none named.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyFillToPosition, quoteCurrencyOf, reducesPosition, type Position, type PositionFigures } from "../../src/domain/position.js";
import { Side, type Fill } from "../../src/domain/order.js";
import { rng } from "../helpers/random-order.js";
import { decimalJsMath } from "../../src/domain/decimal-math.js";

// ---- the reference model ---------------------------------------------------------------------

const SCALE_DIGITS = 40;
const ONE = 10n ** BigInt(SCALE_DIGITS);

/** "-12.5" -> -12.5 x 10^40, exactly. */
function fx(s: string): bigint {
  const neg = s.startsWith("-");
  const t = neg ? s.slice(1) : s;
  const [i, f = ""] = t.split(".");
  assert.ok(f.length <= SCALE_DIGITS, `too many digits: ${s}`);
  const v = BigInt(i!) * ONE + BigInt((f + "0".repeat(SCALE_DIGITS)).slice(0, SCALE_DIGITS));
  return neg ? -v : v;
}

/** n / d rounded half-even to an integer (d > 0). */
function roundHalfEven(n: bigint, d: bigint): bigint {
  let q = n / d;
  let r = n % d;
  if (r < 0n) {
    q -= 1n;
    r += d;
  }
  const twice = 2n * r;
  if (twice > d || (twice === d && q % 2n !== 0n)) q += 1n;
  return q;
}

interface Lot {
  qty: bigint;
  price: bigint;
}

class Reference {
  /** Signed quantity. */
  qty = 0n;
  /** The fills that opened the current position (absolute quantities). */
  lots: Lot[] = [];
  realized = 0n;
  quoteFees = 0n;
  other = new Map<string, bigint>();

  /** The volume-weighted price of the opening lots, rounded half-even to 18 fraction digits. */
  average(): bigint | undefined {
    if (this.qty === 0n) return undefined;
    let cost = 0n; // scale 10^80
    let q = 0n; // scale 10^40
    for (const l of this.lots) {
      cost += l.qty * l.price;
      q += l.qty;
    }
    // cost / q has scale 10^40; at 18 digits: round(cost x 10^18 / (q x 10^40)) then back to 10^40.
    return roundHalfEven(cost * 10n ** 18n, q * ONE) * 10n ** BigInt(SCALE_DIGITS - 18);
  }

  apply(side: Side, qtyAbs: bigint, price: bigint, fee: bigint, feeCurrency: string, quote: string): void {
    const dir = side === Side.BUY ? 1n : -1n;
    const sameWay = this.qty === 0n || (this.qty > 0n) === (dir > 0n);
    if (sameWay) {
      this.lots.push({ qty: qtyAbs, price });
      this.qty += dir * qtyAbs;
    } else {
      const held = this.qty > 0n ? this.qty : -this.qty;
      const closed = qtyAbs < held ? qtyAbs : held;
      const avg = this.average()!;
      const pnl2 = (price - avg) * closed; // scale 10^80
      assert.equal(pnl2 % ONE, 0n, "test data keeps P&L exact at 40 digits");
      this.realized += (this.qty > 0n ? 1n : -1n) * (pnl2 / ONE);
      const rest = qtyAbs - closed;
      this.qty += dir * closed;
      if (this.qty === 0n) this.lots = [];
      if (rest > 0n) {
        this.lots = [{ qty: rest, price }];
        this.qty = dir * rest;
      }
    }
    if (fee !== 0n) {
      if (feeCurrency === "" || feeCurrency === quote) this.quoteFees += fee;
      else this.other.set(feeCurrency, (this.other.get(feeCurrency) ?? 0n) + fee);
    }
  }
}

// ---- random fill sequences -------------------------------------------------------------------

function decimalString(r: () => number, maxInt: number, maxFrac: number): string {
  const i = Math.floor(r() * maxInt);
  const fd = Math.floor(r() * (maxFrac + 1));
  let f = "";
  for (let k = 0; k < fd; k++) f += String(Math.floor(r() * 10));
  f = f.replace(/0+$/, "");
  const s = f === "" ? String(i) : `${i}.${f}`;
  return s === "0" ? "1" : s;
}

function fillOf(seq: number, side: Side, quantity: string, price: string, fee: string, feeCurrency: string, symbol: string): Fill {
  return {
    sequence: BigInt(seq),
    fillId: `f${seq}`,
    orderId: `o${seq}`,
    clientOrderId: `c${seq}`,
    account: "acct",
    venue: "paper",
    symbol,
    side,
    quantity,
    price,
    fee,
    feeCurrency,
    timeMs: 1_000 + seq,
    venueTradeId: `t${seq}`,
  };
}

function abs(s: string): string {
  return s.startsWith("-") ? s.slice(1) : s;
}

test("position arithmetic matches the lot-list reference over random fill sequences (flips, partials, exact closes, fees)", () => {
  const symbols = ["BTC-USD", "ETH/EUR", "SOLUSDT"];
  let flips = 0;
  let closes = 0;
  let partials = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const r = rng(Math.imul(seed, 0x9e3779b1));
    r(); // xorshift's first outputs from a small seed are tiny
    const symbol = symbols[seed % symbols.length]!;
    const quote = quoteCurrencyOf(symbol);
    const ref = new Reference();
    let pos: Position | undefined;
    // The position book's way: each step's decimal figures handed to the next (no re-parse).
    let carried: Position | undefined;
    let figures: PositionFigures | undefined;
    // The same fills in the reference arithmetic (DECIMAL_MATH=decimal.js): every string equal.
    let viaJs: Position | undefined;
    let figuresJs: PositionFigures | undefined;
    let realizedSteps = 0n;
    const n = 1 + Math.floor(r() * 40);
    for (let k = 1; k <= n; k++) {
      const side = r() < 0.5 ? Side.BUY : Side.SELL;
      const held = pos === undefined ? "0" : abs(pos.quantity);
      const opposite = pos !== undefined && pos.quantity !== "0" && (pos.quantity.startsWith("-") ? side === Side.BUY : side === Side.SELL);
      let quantity: string;
      const pick = r();
      if (opposite && pick < 0.2) {
        quantity = held; // exact close
        closes++;
      } else if (opposite && pick < 0.4) {
        quantity = (fx(held) + fx(decimalString(r, 3, 4))).toString(); // flip: more than held
        quantity = fromFx(BigInt(quantity));
        flips++;
      } else {
        quantity = decimalString(r, 10, 6);
        if (opposite && fx(quantity) < fx(held)) partials++;
      }
      const price = decimalString(r, 50_000, 4);
      const feeKind = r();
      const fee = feeKind < 0.2 ? "" : decimalString(r, 5, 8);
      const feeCurrency = feeKind < 0.5 ? quote : feeKind < 0.7 ? "" : feeKind < 0.85 ? "BNB" : "KCS";
      const fill = fillOf(k, side, quantity, price, fee, feeCurrency, symbol);
      const step = applyFillToPosition(pos, fill);
      pos = step.position;
      const stepCarried = applyFillToPosition(carried, fill, figures);
      carried = stepCarried.position;
      figures = stepCarried.figures;
      const stepJs = applyFillToPosition(viaJs, fill, figuresJs, decimalJsMath);
      viaJs = stepJs.position;
      figuresJs = stepJs.figures;
      realizedSteps += fx(step.realized);
      ref.apply(side, fx(quantity), fx(price), fee === "" ? 0n : fx(fee), feeCurrency, quote);

      const where = `seed ${seed} fill ${k}`;
      assert.deepEqual(carried, pos, `${where}: carried figures give the same position as parsed strings`);
      assert.equal(stepCarried.realized, step.realized, `${where}: carried figures book the same P&L`);
      assert.deepEqual(viaJs, pos, `${where}: decimal.js gives the same position as the scaled arithmetic`);
      assert.equal(stepJs.realized, step.realized, `${where}: decimal.js books the same P&L`);
      assert.equal(fx(pos.quantity), ref.qty, `${where}: quantity`);
      const avg = ref.average();
      if (avg === undefined) assert.equal(pos.averageEntryPrice, "", `${where}: flat has no average`);
      else assert.equal(fx(pos.averageEntryPrice), avg, `${where}: average entry price`);
      assert.equal(fx(pos.realizedPnl), ref.realized, `${where}: realized P&L`);
      assert.equal(realizedSteps, ref.realized, `${where}: the steps' P&L add up to the position's`);
      assert.equal(fx(pos.fees), ref.quoteFees, `${where}: quote fees`);
      assert.deepEqual(
        Object.fromEntries(Object.entries(pos.otherFees).map(([c, a]) => [c, fx(a)])),
        Object.fromEntries(ref.other),
        `${where}: other fees`,
      );
      assert.equal(pos.lastFillSequence, BigInt(k));
    }
  }
  // The generator really exercises the interesting paths.
  assert.ok(flips > 200 && closes > 200 && partials > 200, `flips ${flips}, closes ${closes}, partials ${partials}`);
});

function fromFx(v: bigint): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const i = a / ONE;
  const f = (a % ONE).toString().padStart(SCALE_DIGITS, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${i}${f === "" ? "" : `.${f}`}`;
}

test("worked example: the average holds while shrinking, P&L on the reducing side, a flip opens at the flip price", () => {
  const f = (seq: number, side: Side, q: string, p: string, fee = "0", cur = "USD") => fillOf(seq, side, q, p, fee, cur, "BTC-USD");
  let p = applyFillToPosition(undefined, f(1, Side.BUY, "1", "100", "0.1")).position;
  p = applyFillToPosition(p, f(2, Side.BUY, "3", "200", "0.3")).position;
  assert.deepEqual([p.quantity, p.averageEntryPrice, p.realizedPnl, p.fees], ["4", "175", "0", "0.4"]);
  const s = applyFillToPosition(p, f(3, Side.SELL, "1", "195", "1", "BNB"));
  assert.deepEqual([s.position.quantity, s.position.averageEntryPrice, s.position.realizedPnl, s.realized], ["3", "175", "20", "20"]);
  assert.deepEqual(s.position.otherFees, { BNB: "1" });
  const flip = applyFillToPosition(s.position, f(4, Side.SELL, "5", "150"));
  // Closes 3 at 150 (3 x -25 = -75), then 2 short at 150.
  assert.deepEqual([flip.position.quantity, flip.position.averageEntryPrice, flip.position.realizedPnl, flip.realized], ["-2", "150", "-55", "-75"]);
  const cover = applyFillToPosition(flip.position, f(5, Side.BUY, "2", "140"));
  assert.deepEqual([cover.position.quantity, cover.position.averageEntryPrice, cover.position.realizedPnl], ["0", "", "-35"]);
  // Thirds: the average is shown rounded, and P&L uses the shown average.
  let t = applyFillToPosition(undefined, f(1, Side.BUY, "1", "1")).position;
  t = applyFillToPosition(t, f(2, Side.BUY, "2", "2")).position;
  assert.equal(t.averageEntryPrice, "1.666666666666666667");
  assert.equal(applyFillToPosition(t, f(3, Side.SELL, "1", "2")).realized, "0.333333333333333333");
});

test("quoteCurrencyOf and reducesPosition", () => {
  assert.deepEqual(["BTC-USD", "ETH/EUR", "BTCUSDT", "X-"].map(quoteCurrencyOf), ["USD", "EUR", "", ""]);
  const long = applyFillToPosition(undefined, fillOf(1, Side.BUY, "2", "10", "", "", "BTC-USD")).position;
  assert.equal(reducesPosition(long, Side.SELL, "2"), true, "closing exactly reduces");
  assert.equal(reducesPosition(long, Side.SELL, "2.00000001"), false, "one tick more would flip");
  assert.equal(reducesPosition(long, Side.SELL, "1", "1"), true);
  assert.equal(reducesPosition(long, Side.SELL, "1", "1.5"), false, "open sells count");
  assert.equal(reducesPosition(long, Side.BUY, "1"), false);
  assert.equal(reducesPosition(undefined, Side.SELL, "1"), false);
  const short = applyFillToPosition(long, fillOf(2, Side.SELL, "3", "10", "", "", "BTC-USD")).position;
  assert.equal(reducesPosition(short, Side.BUY, "1"), true);
  assert.equal(reducesPosition(short, Side.SELL, "1"), false);
});
