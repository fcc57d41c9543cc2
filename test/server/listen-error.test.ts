import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { listenErrorMessage } from "../../src/server/listen-error.js";

const rpc = { hostSetting: "HOST", portSetting: "PORT (or --port)" };

/** The error of a real bind, or undefined if it succeeded. */
function bindError(host: string, port: number): Promise<Error | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", resolve);
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

test("an address this machine does not have names HOST", async (t) => {
  // 192.0.2.0/24 is TEST-NET-1: documentation only, never assigned to a host.
  const e = await bindError("192.0.2.1", 0);
  if (e === undefined) return t.skip("this machine binds non-local addresses (ip_nonlocal_bind)");
  assert.equal((e as NodeJS.ErrnoException).code, "EADDRNOTAVAIL");
  assert.equal(
    listenErrorMessage(e, { host: "192.0.2.1", port: 50051, ...rpc }),
    "cannot listen on 192.0.2.1:50051: this machine has no such address; set HOST to one of its addresses, 127.0.0.1 or 0.0.0.0",
  );
});

test("an IPv6 address is bracketed; a privileged port names the port setting", () => {
  const e = Object.assign(new Error("listen EACCES: permission denied :::80"), { code: "EACCES" });
  assert.equal(
    listenErrorMessage(e, { host: "::", port: 80, hostSetting: "METRICS_HOST", portSetting: "METRICS_PORT", alternative: "or set METRICS_PORT=off" }),
    "cannot listen on [::]:80: permission denied (ports below 1024 need privileges); set METRICS_PORT to 1024 or above, or set METRICS_PORT=off",
  );
});

test("any other error keeps its message on one line and names both settings", () => {
  const e = new Error("something\n  odd");
  assert.equal(listenErrorMessage(e, { host: "127.0.0.1", port: 1, ...rpc }), "cannot listen on 127.0.0.1:1: something odd; check HOST and PORT (or --port)");
});
