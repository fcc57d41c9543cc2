/**
 * The scaled-integer arithmetic (src/domain/scaled-decimal-math.ts, DECIMAL_MATH=scaled) against
 * decimal.js (decimalJsMath, the reference): every operation on random values of the domain both
 * promise to be exact on (at most 18 fraction digits, up to 14 integer digits: 32 characters, as
 * validation admits; both signs; trailing zeros as venues write them), compared as formatted strings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decimalJsMath, type DecimalMath, type Num } from "../../src/domain/decimal-math.js";
import { decimalMathNamed } from "../../src/domain/decimal-math-named.js";
import { scaledDecimalMath } from "../../src/domain/scaled-decimal-math.js";
import { rng } from "../helpers/random-order.js";

/** A random plain decimal of the domain: sign, 0-14 integer digits, 0-18 fraction digits (some trailing zeros). */
function randomDecimal(r: () => number): string {
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(r() * 10))).join("");
  const pick = r();
  // Small values, round values and values around 0.5 units of the last digit make rounding ties.
  const int = pick < 0.3 ? "0" : pick < 0.5 ? String(Math.floor(r() * 10)) : digits(1 + Math.floor(r() * 14)).replace(/^0+(?=\d)/, "");
  const fracLen = Math.floor(r() * 19);
  let frac = digits(fracLen);
  if (r() < 0.15 && fracLen > 0) frac = frac.slice(0, -1) + "5";
  if (r() < 0.1) frac += "000";
  const s = frac.length > 0 && frac.length <= 18 ? `${int}.${frac}` : int;
  return r() < 0.3 ? `-${s}` : s;
}

const OPS: readonly [string, (m: DecimalMath, a: Num, b: Num) => string][] = [
  ["add", (m, a, b) => m.format(m.add(a, b))],
  ["sub", (m, a, b) => m.format(m.sub(a, b))],
  ["neg", (m, a) => m.format(m.neg(a))],
  ["abs", (m, a) => m.format(m.abs(a))],
  ["cmp", (m, a, b) => String(m.cmp(a, b))],
  ["sign", (m, a) => String(m.sign(a))],
  ["isZero", (m, a) => String(m.isZero(a))],
  ["max", (m, a, b) => m.format(m.max(a, b))],
  ["min", (m, a, b) => m.format(m.min(a, b))],
  ["format", (m, a) => m.format(a)],
  // Wides: products, their sums and differences, and Nums widened into them.
  ["mul", (m, a, b) => m.formatWide(m.mul(a, b))],
  ["widen", (m, a) => m.formatWide(m.widen(a))],
  ["wide add", (m, a, b) => m.formatWide(m.add(m.mul(a, b), m.widen(a)))],
  ["wide sub", (m, a, b) => m.formatWide(m.sub(m.mul(a, a), m.mul(b, b)))],
  ["wide neg abs", (m, a, b) => m.formatWide(m.abs(m.neg(m.mul(a, b))))],
  ["wide cmp", (m, a, b) => String(m.cmp(m.mul(a, b), m.widen(b)))],
  ["wide sign", (m, a, b) => String(m.sign(m.mul(a, b)))],
  ["wide max min", (m, a, b) => `${m.formatWide(m.max(m.mul(a, b), m.widen(a)))} ${m.formatWide(m.min(m.mul(a, b), m.widen(b)))}`],
  // A sum of products (a cost) divided by a sum of quantities (the average entry price).
  ["mul-add-div", (m, a, b) => (m.isZero(m.add(a, b)) ? "-" : m.format(m.div(m.add(m.mul(a, b), m.mul(b, b)), m.add(a, b), 18)))],
];

test("scaled arithmetic equals decimal.js on every operation over random values of the domain", () => {
  const r = rng(0x5eed1234);
  r();
  for (let i = 0; i < 20_000; i++) {
    const x = randomDecimal(r);
    const y = randomDecimal(r);
    const a = { s: scaledDecimalMath.parse(x), j: decimalJsMath.parse(x) };
    const b = { s: scaledDecimalMath.parse(y), j: decimalJsMath.parse(y) };
    for (const [name, op] of OPS) {
      assert.equal(op(scaledDecimalMath, a.s, b.s), op(decimalJsMath, a.j, b.j), `${name}(${x}, ${y})`);
    }
    if (!decimalJsMath.isZero(b.j)) {
      for (const scale of [0, 1, 2, 8, 18]) {
        const js = decimalJsMath.format(decimalJsMath.div(decimalJsMath.widen(a.j), b.j, scale));
        assert.equal(scaledDecimalMath.format(scaledDecimalMath.div(scaledDecimalMath.widen(a.s), b.s, scale)), js, `div(${x}, ${y}, ${scale})`);
      }
    }
    // Exact ties of half-even rounding: (10k+1)/2 at scale 0, both signs.
    const t = String(i - 10_000) + "1";
    const two = (m: DecimalMath): Num => m.parse("2");
    assert.equal(
      scaledDecimalMath.format(scaledDecimalMath.div(scaledDecimalMath.widen(scaledDecimalMath.parse(t)), two(scaledDecimalMath), 0)),
      decimalJsMath.format(decimalJsMath.div(decimalJsMath.widen(decimalJsMath.parse(t)), two(decimalJsMath), 0)),
      `tie ${t}/2`,
    );
  }
});

test("scaled parsing: what venues write is read as decimal.js reads it; what is not a decimal is refused", () => {
  for (const s of ["1.50", "0.000", "-0", "-0.0", "007", "1e-7", "2.5E3", "+3", ".5", "-.25", "123456789012345678901234567890.123456789012345678", "0.100000000000000000000"]) {
    assert.equal(scaledDecimalMath.format(scaledDecimalMath.parse(s)), decimalJsMath.format(decimalJsMath.parse(s)), s);
  }
  for (const s of ["", "abc", "1.2.3", "NaN", "Infinity", "-", "1,5"]) {
    assert.throws(() => scaledDecimalMath.parse(s), /not a decimal/, JSON.stringify(s));
    assert.throws(() => decimalJsMath.parse(s), Error, JSON.stringify(s));
  }
  // Beyond 18 fraction digits (outside the domain: a venue's odd fee) the scaled form rounds half-even.
  assert.equal(scaledDecimalMath.format(scaledDecimalMath.parse("0.0000000000000000015")), "0.000000000000000002");
  assert.equal(scaledDecimalMath.format(scaledDecimalMath.parse("0.0000000000000000025")), "0.000000000000000002");
  assert.equal(scaledDecimalMath.format(scaledDecimalMath.parse("-0.00000000000000000251")), "-0.000000000000000003");
});

test("DECIMAL_MATH names its implementation", () => {
  assert.equal(decimalMathNamed("scaled"), scaledDecimalMath);
  assert.equal(decimalMathNamed("decimal.js"), decimalJsMath);
  assert.deepEqual([scaledDecimalMath.name, decimalJsMath.name], ["scaled", "decimal.js"]);
});
