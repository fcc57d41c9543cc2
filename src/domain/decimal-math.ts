import { Decimal } from "./decimal.js";

declare const numBrand: unique symbol;
/**
 * A decimal number as one DecimalMath keeps it: opaque to everyone else. Values of two
 * implementations never meet (each owner holds one DecimalMath from construction on).
 */
export type Num = { readonly [numBrand]: true };

/**
 * Exact decimal arithmetic for the risk path (positions, open-order exposure, limits), behind a
 * port so that the implementation is a setting (DECIMAL_MATH): `scaledDecimalMath`
 * (scaled-decimal-math.ts, the default) or `decimalJsMath` below, the reference it is checked
 * against (test/domain/decimal-math.test.ts). Why two: decimal.js costs about 1 µs per
 * parse-operate-format and allocates a digit array per value; these run several times per order
 * and per fill, on every order (docs/performance.md, issue 25).
 *
 * The domain both implementations are exact on (and checked on): values with at most 18 fraction
 * digits (MAX_DECIMAL_SCALE: what validation admits for orders and what the limits file admits),
 * their sums and differences, products of two of them, and their quotients rounded to at most 18
 * digits.
 */
export interface DecimalMath {
  readonly name: DecimalMathName;
  readonly zero: Num;
  /** A plain decimal string ("-1.25", "0.001", "65000"); throws on anything else. */
  parse(s: string): Num;
  add(a: Num, b: Num): Num;
  sub(a: Num, b: Num): Num;
  mul(a: Num, b: Num): Num;
  /** a / b rounded half-even to `scale` fraction digits (at most 18). b must not be zero. */
  div(a: Num, b: Num, scale: number): Num;
  neg(a: Num): Num;
  abs(a: Num): Num;
  cmp(a: Num, b: Num): -1 | 0 | 1;
  /** -1, 0 or 1. */
  sign(a: Num): -1 | 0 | 1;
  isZero(a: Num): boolean;
  max(a: Num, b: Num): Num;
  min(a: Num, b: Num): Num;
  /** Plain notation, no exponent, no trailing fraction zeros, "0" for zero (never "-0"). */
  format(a: Num): string;
}

export type DecimalMathName = "scaled" | "decimal.js";

const asNum = (d: Decimal): Num => d as unknown as Num;
const asDec = (n: Num): Decimal => n as unknown as Decimal;

/** The reference implementation: decimal.js (src/domain/decimal.ts's settings). */
export const decimalJsMath: DecimalMath = {
  name: "decimal.js",
  zero: asNum(new Decimal(0)),
  parse: (s) => {
    const d = new Decimal(s);
    if (!d.isFinite()) throw new Error(`not a decimal: "${s}"`);
    return asNum(d);
  },
  add: (a, b) => asNum(asDec(a).plus(asDec(b))),
  sub: (a, b) => asNum(asDec(a).minus(asDec(b))),
  mul: (a, b) => asNum(asDec(a).times(asDec(b))),
  div: (a, b, scale) => asNum(asDec(a).dividedBy(asDec(b)).toDecimalPlaces(scale, Decimal.ROUND_HALF_EVEN)),
  neg: (a) => asNum(asDec(a).negated()),
  abs: (a) => asNum(asDec(a).abs()),
  cmp: (a, b) => asDec(a).comparedTo(asDec(b)) as -1 | 0 | 1,
  sign: (a) => {
    const d = asDec(a);
    return d.isZero() ? 0 : d.isNegative() ? -1 : 1;
  },
  isZero: (a) => asDec(a).isZero(),
  max: (a, b) => (asDec(a).comparedTo(asDec(b)) >= 0 ? a : b),
  min: (a, b) => (asDec(a).comparedTo(asDec(b)) <= 0 ? a : b),
  format: (a) => {
    const d = asDec(a);
    return d.isZero() ? "0" : d.toFixed();
  },
};
