import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readTlsFiles } from "../../src/config/tls-files.js";

test("TLS_*_FILE are read by config/ (not main.ts, not the server); every unreadable one is named with its variable", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gw-tls-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  writeFileSync(cert, "CERT");
  writeFileSync(key, "KEY");
  assert.deepEqual(readTlsFiles({}), { ok: true, value: undefined }, "no certificate: plaintext");
  const plain = readTlsFiles({ tlsCertFile: cert, tlsKeyFile: key });
  assert.ok(plain.ok && plain.value !== undefined);
  assert.equal(plain.value.cert.toString(), "CERT");
  assert.equal(plain.value.key.toString(), "KEY");
  assert.equal(plain.value.ca, undefined);
  const mtls = readTlsFiles({ tlsCertFile: cert, tlsKeyFile: key, tlsCaFile: cert });
  assert.ok(mtls.ok && mtls.value?.ca?.toString() === "CERT");
  const bad = readTlsFiles({ tlsCertFile: join(dir, "nope.pem"), tlsKeyFile: key, tlsCaFile: join(dir, "ca.pem") });
  assert.ok(!bad.ok);
  assert.equal(bad.error.length, 2);
  assert.match(bad.error[0]!, /^TLS_CERT_FILE=.*nope\.pem cannot be read: ENOENT/);
  assert.match(bad.error[1]!, /^TLS_CA_FILE=.*ca\.pem cannot be read: ENOENT/);
});
