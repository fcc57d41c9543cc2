import { Decimal as DecimalJs } from "decimal.js";

/**
 * Order math on decimal strings. Prices and quantities never become JS
 * numbers: 0.1 + 0.2 must be 0.3 in a fill report. A private clone keeps our
 * settings (precision, no exponent notation) from leaking into, or being
 * changed by, any other user of decimal.js in the process.
 */
export const Decimal = DecimalJs.clone({
  // 80 significant digits: quantities and prices are bounded to 32 characters (31 digits) by
  // validation, so a product of two of them (62 digits) is exact, and so are sums of a few such.
  // (It was 60, which rounded such products: found by test/domain/decimal-math.test.ts.)
  precision: 80,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  // toString() never switches to exponent notation in the range we can meet.
  toExpNeg: -80,
  toExpPos: 80,
});
export type Decimal = DecimalJs;

/** Strict wire format for positive decimals: digits, optional fraction, no sign, no exponent, no leading zeros. */
export const DECIMAL_PATTERN = /^(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
/** Longest accepted decimal string (characters), and most fraction digits. */
export const MAX_DECIMAL_LENGTH = 32;
export const MAX_DECIMAL_SCALE = 18;

/**
 * Why `s` is not an acceptable positive decimal, or undefined if it is.
 * The reasons are written for the client (they end up in BadRequest details).
 */
export function checkPositiveDecimal(s: string): string | undefined {
  if (s.length === 0) return "is required";
  if (s.length > MAX_DECIMAL_LENGTH) return `must be at most ${MAX_DECIMAL_LENGTH} characters`;
  if (!DECIMAL_PATTERN.test(s)) {
    return "must be a plain positive decimal such as 1.25 (digits and one dot; no sign, exponent, spaces or leading zeros)";
  }
  const dot = s.indexOf(".");
  if (dot >= 0 && s.length - dot - 1 > MAX_DECIMAL_SCALE) return `must have at most ${MAX_DECIMAL_SCALE} fraction digits`;
  // The pattern admits "0" and "0.000": positive means at least one non-zero digit.
  if (!/[1-9]/.test(s)) return "must be greater than zero";
  return undefined;
}

export function dec(s: string | Decimal): Decimal {
  return typeof s === "string" ? new Decimal(s) : s;
}

export function add(a: string | Decimal, b: string | Decimal): Decimal {
  return dec(a).plus(dec(b));
}

export function sub(a: string | Decimal, b: string | Decimal): Decimal {
  return dec(a).minus(dec(b));
}

export function mul(a: string | Decimal, b: string | Decimal): Decimal {
  return dec(a).times(dec(b));
}

/** Division rounded to `scale` fraction digits (half-even); used for average prices. */
export function div(a: string | Decimal, b: string | Decimal, scale = MAX_DECIMAL_SCALE): Decimal {
  return dec(a).dividedBy(dec(b)).toDecimalPlaces(scale, Decimal.ROUND_HALF_EVEN);
}

/** -1, 0 or 1. */
export function compare(a: string | Decimal, b: string | Decimal): -1 | 0 | 1 {
  return dec(a).comparedTo(dec(b)) as -1 | 0 | 1;
}

export function min(a: string | Decimal, b: string | Decimal): Decimal {
  return compare(a, b) <= 0 ? dec(a) : dec(b);
}

export function isZero(a: string | Decimal): boolean {
  return dec(a).isZero();
}

/**
 * Plain notation, no exponent, no trailing fraction zeros ("1.50" -> "1.5",
 * "1e-7" -> "0.0000001"). Optionally rounded to `scale` fraction digits first.
 */
export function formatDecimal(a: string | Decimal, scale?: number): string {
  let d = dec(a);
  if (scale !== undefined) d = d.toDecimalPlaces(scale, Decimal.ROUND_HALF_EVEN);
  // toFixed() without arguments never uses exponent notation; normalize "-0".
  const s = d.isZero() ? "0" : d.toFixed();
  return s;
}
