import { Decimal } from "./decimal.js";
import type { DecimalMath, Num } from "./decimal-math.js";

/**
 * DecimalMath on scaled integers: a value is one BigInt counting units of 10^-36. Why not
 * decimal.js here: the risk path parses, adds, multiplies and formats several decimals per order
 * and per fill, and decimal.js spends about 1 µs on each such round and allocates a digit array
 * per value; a BigInt is one small heap number and a sum is one machine-word add
 * (docs/performance.md, issue 25). Behind the DECIMAL_MATH switch, with decimal.js as the
 * reference in a differential test (test/domain/decimal-math.test.ts).
 *
 * Why 36 fraction digits: inputs carry at most 18 (MAX_DECIMAL_SCALE), so every product of two
 * of them is exact, and so are the sums of such products (notionals, costs, P&L). A value with
 * more than 36 fraction digits cannot be parsed (an error, never a silent rounding). Outside
 * DecimalMath's domain, a product of a product would be rounded half-even at the 36th digit
 * rather than throw in the middle of applying a fill; nothing on the risk path multiplies twice.
 */
const SCALE = 36;
const ONE = 10n ** BigInt(SCALE);
/** POW[k] = 10^(36 - k): what a string with k fraction digits is multiplied by. */
const POW: readonly bigint[] = Array.from({ length: SCALE + 1 }, (_, k) => 10n ** BigInt(SCALE - k));
const PLAIN = /^-?[0-9]+(?:\.[0-9]+)?$/;

const asNum = (v: bigint): Num => v as unknown as Num;
const asBig = (n: Num): bigint => n as unknown as bigint;

function parse(s: string): Num {
  if (!PLAIN.test(s)) {
    // Exponent notation, a leading "+" or ".5" from a venue: decimal.js reads them; rare.
    let d: Decimal;
    try {
      d = new Decimal(s);
    } catch {
      throw new Error(`not a decimal: "${s}"`);
    }
    if (!d.isFinite()) throw new Error(`not a decimal: "${s}"`);
    return parse(d.toFixed());
  }
  const dot = s.indexOf(".");
  if (dot < 0) return asNum(BigInt(s) * ONE);
  const digits = s.length - dot - 1;
  if (digits > SCALE) throw new Error(`not a decimal of at most ${SCALE} fraction digits: "${s}"`);
  return asNum(BigInt(s.slice(0, dot) + s.slice(dot + 1)) * POW[digits]!);
}

function format(n: Num): string {
  const v = asBig(n);
  if (v === 0n) return "0";
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (s.length <= SCALE) s = "0".repeat(SCALE - s.length + 1) + s;
  const point = s.length - SCALE;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  const int = s.slice(0, point);
  const text = end > point ? `${int}.${s.slice(point, end)}` : int;
  return neg ? `-${text}` : text;
}

/** q rounded half-even, given the remainder r of the division by d (all signs as BigInt's). */
function roundHalfEven(q: bigint, r: bigint, d: bigint): bigint {
  if (r === 0n) return q;
  const twice = 2n * (r < 0n ? -r : r);
  const ad = d < 0n ? -d : d;
  const away = (r < 0n) !== (d < 0n) ? -1n : 1n;
  if (twice > ad || (twice === ad && q % 2n !== 0n)) return q + away;
  return q;
}

export const scaledDecimalMath: DecimalMath = {
  name: "scaled",
  zero: asNum(0n),
  parse,
  add: (a, b) => asNum(asBig(a) + asBig(b)),
  sub: (a, b) => asNum(asBig(a) - asBig(b)),
  mul: (a, b) => {
    const p = asBig(a) * asBig(b);
    const q = p / ONE;
    return asNum(roundHalfEven(q, p - q * ONE, ONE));
  },
  div: (a, b, scale) => {
    const d = asBig(b);
    if (d === 0n) throw new Error("division by zero");
    // a/b in units of 10^-scale, rounded, then back to units of 10^-36.
    const num = asBig(a) * 10n ** BigInt(scale);
    const q = num / d;
    return asNum(roundHalfEven(q, num - q * d, d) * POW[scale]!);
  },
  neg: (a) => asNum(-asBig(a)),
  abs: (a) => {
    const v = asBig(a);
    return v < 0n ? asNum(-v) : a;
  },
  cmp: (a, b) => {
    const x = asBig(a);
    const y = asBig(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },
  sign: (a) => {
    const v = asBig(a);
    return v < 0n ? -1 : v > 0n ? 1 : 0;
  },
  isZero: (a) => asBig(a) === 0n,
  max: (a, b) => (asBig(a) >= asBig(b) ? a : b),
  min: (a, b) => (asBig(a) <= asBig(b) ? a : b),
  format,
};
