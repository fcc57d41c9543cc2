import { test } from "node:test";
import assert from "node:assert/strict";
import { add, checkPositiveDecimal, compare, dec, div, formatDecimal, isZero, min, mul, sub } from "../../src/domain/decimal.js";

test("arithmetic is exact where floats are not", () => {
  assert.equal(formatDecimal(add("0.1", "0.2")), "0.3");
  assert.equal(formatDecimal(mul("1.1", "1.1")), "1.21");
  assert.equal(formatDecimal(mul("99999999999999999999.123456789", "3")), "299999999999999999997.370370367");
  assert.equal(formatDecimal(div("1", "3")), "0.333333333333333333");
  assert.equal(compare("1.50", "1.5"), 0);
  assert.equal(compare("2", "10"), -1);
  assert.equal(formatDecimal(sub("0.3", "0.1")), "0.2");
  assert.equal(formatDecimal(sub("1", "1.5")), "-0.5");
});

test("min, isZero and dec", () => {
  assert.equal(formatDecimal(min("2", "10")), "2");
  assert.equal(formatDecimal(min("10", "2")), "2");
  assert.equal(formatDecimal(min("1.50", "1.5")), "1.5");
  assert.equal(isZero("0.000"), true);
  assert.equal(isZero("0.001"), false);
  // A Decimal passes through as is: the pipeline hands values along without copying them.
  const d = dec("1.25");
  assert.equal(dec(d), d);
});

test("formatDecimal never uses exponent notation and drops trailing zeros", () => {
  assert.equal(formatDecimal("1.500"), "1.5");
  assert.equal(formatDecimal(mul("0.0000001", "0.0000001")), "0.00000000000001");
  assert.equal(formatDecimal(mul("100000000000000000000000", "1000000")), "100000000000000000000000000000");
  assert.equal(formatDecimal("0.000"), "0");
  assert.equal(formatDecimal("2.345", 2), "2.34");
});

test("checkPositiveDecimal accepts plain positive decimals only", () => {
  // The edges: exactly 32 characters and exactly 18 fraction digits are accepted; an integer of more
  // than 18 digits has no fraction digits at all.
  const edges = ["1".repeat(32), "1".repeat(13) + "." + "1".repeat(18), "0.000000000000000001", "1".repeat(19)];
  for (const ok of ["1", "1.5", "0.0001", "65000", "123456789.123456789012345678", ...edges]) assert.equal(checkPositiveDecimal(ok), undefined, ok);
  const bad: Array<[string, RegExp]> = [
    ["", /required/],
    ["0", /greater than zero/],
    ["0.000", /greater than zero/],
    ["-1", /plain positive decimal/],
    ["+1", /plain positive decimal/],
    ["1e5", /plain positive decimal/],
    ["NaN", /plain positive decimal/],
    ["Infinity", /plain positive decimal/],
    [" 1", /plain positive decimal/],
    ["01", /plain positive decimal/],
    ["1.", /plain positive decimal/],
    [".5", /plain positive decimal/],
    ["1,5", /plain positive decimal/],
    ["1.0000000000000000001", /fraction digits/],
    ["1".repeat(33), /at most 32/],
    ["1".repeat(12) + "." + "1".repeat(19), /fraction digits/],
  ];
  for (const [s, re] of bad) assert.match(checkPositiveDecimal(s) ?? "", re, JSON.stringify(s));
});
