import { Decimal } from "./decimal.js";
import type { DecimalMath, Num, Wide } from "./decimal-math.js";

/**
 * DecimalMath on scaled integers: a Num is one BigInt counting units of 10^-18, a Wide one
 * counting units of 10^-36. Why not decimal.js here: the risk path parses, adds, multiplies and
 * formats several decimals per order and per fill, and decimal.js spends about 1 µs on each such
 * round and allocates a digit array per value; a BigInt is one small heap number, a sum one add,
 * and a product of two Nums is a Wide without any division (docs/performance.md, issue 25).
 * Behind the DECIMAL_MATH switch, with decimal.js as the reference in a differential test
 * (test/domain/decimal-math.test.ts).
 *
 * Why 18: validation admits at most 18 fraction digits for quantities and prices
 * (MAX_DECIMAL_SCALE), and so does the limits file; a product of two such values has at most 36,
 * which a Wide holds exactly, and so do sums of products (notionals, costs, P&L). A string with
 * more than 18 fraction digits (a venue's fee, say) is rounded half-even to 18 when parsed:
 * outside the domain, where decimal.js would keep the digits.
 */
const SCALE = 18;
const ONE = 10n ** BigInt(SCALE);
/** POW[k] = 10^(18 - k): what a string with k fraction digits is multiplied by. */
const POW: readonly bigint[] = Array.from({ length: SCALE + 1 }, (_, k) => 10n ** BigInt(SCALE - k));
const PLAIN = /^-?[0-9]+(?:\.[0-9]+)?$/;

const num = (v: bigint): Num & Wide => v as unknown as Num & Wide;
const big = (n: Num | Wide): bigint => n as unknown as bigint;

/** q rounded half-even, given the remainder r of the division by d (all signs as BigInt's). */
function roundHalfEven(q: bigint, r: bigint, d: bigint): bigint {
  if (r === 0n) return q;
  const twice = 2n * (r < 0n ? -r : r);
  const ad = d < 0n ? -d : d;
  const away = r < 0n !== d < 0n ? -1n : 1n;
  if (twice > ad || (twice === ad && q % 2n !== 0n)) return q + away;
  return q;
}

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
  if (dot < 0) return num(BigInt(s) * ONE);
  const digits = s.length - dot - 1;
  const all = BigInt(s.slice(0, dot) + s.slice(dot + 1));
  if (digits <= SCALE) return num(all * POW[digits]!);
  const d = 10n ** BigInt(digits - SCALE);
  const q = all / d;
  return num(roundHalfEven(q, all - q * d, d));
}

/** `v` in units of 10^-scale, in plain notation. */
function formatScaled(v: bigint, scale: number): string {
  if (v === 0n) return "0";
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (s.length <= scale) s = "0".repeat(scale - s.length + 1) + s;
  const point = s.length - scale;
  let end = s.length;
  while (end > point && s.charCodeAt(end - 1) === 48) end--;
  const int = s.slice(0, point);
  const text = end > point ? `${int}.${s.slice(point, end)}` : int;
  return neg ? `-${text}` : text;
}

export const scaledDecimalMath: DecimalMath = {
  name: "scaled",
  zero: num(0n),
  zeroWide: num(0n),
  parse,
  add: (a: Num | Wide, b: Num | Wide) => num(big(a) + big(b)),
  sub: (a: Num | Wide, b: Num | Wide) => num(big(a) - big(b)),
  neg: (a: Num | Wide) => num(-big(a)),
  abs: (a: Num | Wide) => {
    const v = big(a);
    return num(v < 0n ? -v : v);
  },
  cmp: (a: Num | Wide, b: Num | Wide) => {
    const x = big(a);
    const y = big(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },
  sign: (a) => {
    const v = big(a);
    return v < 0n ? -1 : v > 0n ? 1 : 0;
  },
  isZero: (a) => big(a) === 0n,
  max: (a: Num | Wide, b: Num | Wide) => num(big(a) >= big(b) ? big(a) : big(b)),
  min: (a: Num | Wide, b: Num | Wide) => num(big(a) <= big(b) ? big(a) : big(b)),
  mul: (a, b) => num(big(a) * big(b)),
  widen: (a) => num(big(a) * ONE),
  div: (a, b, scale) => {
    const d = big(b);
    if (d === 0n) throw new Error("division by zero");
    // (a x 10^-36) / (d x 10^-18) = (a / d) x 10^-18: in units of 10^-scale that is
    // a / (d x 10^(18 - scale)), rounded, then back to units of 10^-18.
    const dd = d * POW[scale]!;
    const q = big(a) / dd;
    return num(roundHalfEven(q, big(a) - q * dd, dd) * POW[scale]!);
  },
  format: (a) => formatScaled(big(a), SCALE),
  formatWide: (a) => formatScaled(big(a), 2 * SCALE),
};
