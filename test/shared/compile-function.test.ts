import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFunction, plainName } from "../../src/shared/compile-function.js";

test("plainName passes identifiers and refuses anything that could change the generated code", () => {
  for (const ok of ["orderId", "$typeName", "_x1", "createdAt"]) assert.equal(plainName(ok, "t"), ok);
  for (const bad of ["", "a.b", "x;y", "1abc", "a b", "a)}; evil({", "order-id"]) {
    assert.throws(() => plainName(bad, "the test"), /the test: .* is not a plain identifier/, JSON.stringify(bad));
  }
});

test("compileFunction binds each key for the body, and the body's function is what it returns", () => {
  const add = compileFunction<(x: number) => number>({ k: 40, inc: (n: number) => n + 1 }, "return function (x) { return inc(x) + k; };");
  assert.equal(add(1), 42);
});
