import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../..", import.meta.url));

// The proto is the API's documentation (generated code, buf curl, Postman):
// buf lint's COMMENTS rules keep every service, RPC, message, field and enum
// value commented. .ci/run lints too; this keeps `npm test` honest on its own.
test("every element of the contract is documented (buf lint with COMMENTS)", async () => {
  const config = parse(readFileSync(`${root}/buf.yaml`, "utf8")) as { lint: { use: string[]; except?: string[] } };
  assert.ok(config.lint.use.includes("COMMENTS"), "buf.yaml lint uses COMMENTS");
  assert.ok(!(config.lint.except ?? []).some((r) => r.startsWith("COMMENT")), "no COMMENT_* rule is excepted");
  const r = await promisify(execFile)(`${root}/node_modules/.bin/buf`, ["lint"], { cwd: root, encoding: "utf8" }).catch(
    (e: { stdout: string; stderr: string }) => assert.fail(`buf lint failed:\n${e.stdout}${e.stderr}`),
  );
  assert.equal(r.stdout, "");
});
