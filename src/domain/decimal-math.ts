import { Decimal } from "./decimal.js";

declare const numBrand: unique symbol;
declare const wideBrand: unique symbol;
/**
 * A decimal as one DecimalMath keeps it, opaque to everyone else: a quantity, a price, a fee, a
 * limit on them. Values of two implementations never meet (each owner holds one DecimalMath from
 * construction on).
 */
export type Num = { readonly [numBrand]: true };
/**
 * A product of two Nums, or a sum of such products: a notional, a cost, P&L. Kept apart from Num
 * in the types because the scaled implementation keeps it at twice the scale (see
 * scaled-decimal-math.ts); `widen` turns a Num into one.
 */
export type Wide = { readonly [wideBrand]: true };

/**
 * Exact decimal arithmetic for the risk path (positions, open-order exposure, limits), behind a
 * port so that the implementation is a setting (DECIMAL_MATH): `scaledDecimalMath`
 * (scaled-decimal-math.ts, the default) or `decimalJsMath` below, the reference it is checked
 * against (test/domain/decimal-math.test.ts). Why two: decimal.js costs about 1 µs per
 * parse-operate-format and allocates a digit array per value; these run several times per order
 * and per fill, on every order (docs/performance.md, issue 25).
 *
 * The domain both implementations are exact on (and checked on): Nums with at most 18 fraction
 * digits (MAX_DECIMAL_SCALE: what validation admits for orders and what the limits file admits)
 * and their sums; Wides that are products of two Nums and sums of those; quotients rounded to at
 * most 18 digits.
 */
export interface DecimalMath {
  readonly name: DecimalMathName;
  readonly zero: Num;
  readonly zeroWide: Wide;
  /** A plain decimal string ("-1.25", "0.001", "65000"); throws on anything else. */
  parse(s: string): Num;
  add(a: Num, b: Num): Num;
  add(a: Wide, b: Wide): Wide;
  sub(a: Num, b: Num): Num;
  sub(a: Wide, b: Wide): Wide;
  neg(a: Num): Num;
  neg(a: Wide): Wide;
  abs(a: Num): Num;
  abs(a: Wide): Wide;
  cmp(a: Num, b: Num): -1 | 0 | 1;
  cmp(a: Wide, b: Wide): -1 | 0 | 1;
  /** -1, 0 or 1. */
  sign(a: Num | Wide): -1 | 0 | 1;
  isZero(a: Num | Wide): boolean;
  max(a: Num, b: Num): Num;
  max(a: Wide, b: Wide): Wide;
  min(a: Num, b: Num): Num;
  min(a: Wide, b: Wide): Wide;
  /** The exact product. */
  mul(a: Num, b: Num): Wide;
  widen(a: Num): Wide;
  /** a / b rounded half-even to `scale` fraction digits (at most 18). b must not be zero. */
  div(a: Wide, b: Num, scale: number): Num;
  /** Plain notation, no exponent, no trailing fraction zeros, "0" for zero (never "-0"). */
  format(a: Num): string;
  formatWide(a: Wide): string;
}

export type DecimalMathName = "scaled" | "decimal.js";

const asNum = (d: Decimal): Num & Wide => d as unknown as Num & Wide;
const asDec = (n: Num | Wide): Decimal => n as unknown as Decimal;

function plain(d: Decimal): string {
  return d.isZero() ? "0" : d.toFixed();
}

/** The reference implementation: decimal.js (src/domain/decimal.ts's settings). Num and Wide are both a Decimal. */
export const decimalJsMath: DecimalMath = {
  name: "decimal.js",
  zero: asNum(new Decimal(0)),
  zeroWide: asNum(new Decimal(0)),
  parse: (s) => {
    const d = new Decimal(s);
    if (!d.isFinite()) throw new Error(`not a decimal: "${s}"`);
    return asNum(d);
  },
  add: (a: Num | Wide, b: Num | Wide) => asNum(asDec(a).plus(asDec(b))),
  sub: (a: Num | Wide, b: Num | Wide) => asNum(asDec(a).minus(asDec(b))),
  neg: (a: Num | Wide) => asNum(asDec(a).negated()),
  abs: (a: Num | Wide) => asNum(asDec(a).abs()),
  cmp: (a: Num | Wide, b: Num | Wide) => asDec(a).comparedTo(asDec(b)) as -1 | 0 | 1,
  sign: (a) => {
    const d = asDec(a);
    return d.isZero() ? 0 : d.isNegative() ? -1 : 1;
  },
  isZero: (a) => asDec(a).isZero(),
  max: (a: Num | Wide, b: Num | Wide) => asNum(asDec(a).comparedTo(asDec(b)) >= 0 ? asDec(a) : asDec(b)),
  min: (a: Num | Wide, b: Num | Wide) => asNum(asDec(a).comparedTo(asDec(b)) <= 0 ? asDec(a) : asDec(b)),
  mul: (a, b) => asNum(asDec(a).times(asDec(b))),
  widen: (a) => asNum(asDec(a)),
  div: (a, b, scale) => asNum(asDec(a).dividedBy(asDec(b)).toDecimalPlaces(scale, Decimal.ROUND_HALF_EVEN)),
  format: (a) => plain(asDec(a)),
  formatWide: (a) => plain(asDec(a)),
};
