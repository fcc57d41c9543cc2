import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const read = (f: string) => readFileSync(new URL(`../../${f}`, import.meta.url));

test("LICENSE is the Apache License 2.0 text that package.json declares", () => {
  assert.equal((JSON.parse(read("package.json").toString()) as { license: string }).license, "Apache-2.0");
  const text = read("LICENSE");
  assert.match(text.toString(), /^\s*Apache License\s+Version 2\.0, January 2004\s+http:\/\/www\.apache\.org\/licenses\/\s/);
  // https://www.apache.org/licenses/LICENSE-2.0.txt, byte for byte (md5 3b83ef96387f14655fc854ddc3c6bd57).
  assert.equal(createHash("sha256").update(text).digest("hex"), "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30");
});
