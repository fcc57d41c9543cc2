import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { startChildGateway, stopChildGateway, type ChildGateway } from "../helpers/child-gateway.js";

/**
 * examples/: the Node client always, the Python one when python3 with grpcio and protoc with the
 * gRPC Python plugin are installed (.ci/run installs them), each run against a real gateway
 * (src/main.ts with the walking paper venue), and the Go one when go, protoc-gen-go, protoc-gen-go-grpc
 * and Debian's grpc-go sources are installed (GOPATH mode: there is no module proxy here).
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const googleProtos = join(dirname(createRequire(import.meta.url).resolve("google-proto-files/google/rpc/status.proto")), "../..");
let gw: ChildGateway;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "gw-examples-"));
  gw = await startChildGateway({ AUDIT_FILE: join(dir, "audit.jsonl"), PAPER_MARKET: "walk" });
});
after(async () => {
  if (gw !== undefined) await stopChildGateway(gw);
  rmSync(dir, { recursive: true, force: true });
});

function runExample(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, GATEWAY: `127.0.0.1:${gw.port}`, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolveRun({ code, out });
    });
  });
}

/** What every example prints when each step worked. */
function assertTranscript(out: string, run: string): void {
  assert.match(out, new RegExp(`placed mkt-${run}: ORDER_STATUS_FILLED at \\d`), out);
  assert.match(out, new RegExp(`placed lmt-${run}: ORDER_STATUS_NEW at limit \\d+`), out);
  assert.match(out, /stream closed after sequence \d+; resuming/, out);
  assert.match(out, new RegExp(`replaced lmt2-${run}: ORDER_STATUS_NEW quantity 0.02 price \\d+`), out);
  assert.match(out, new RegExp(`canceled lmt2-${run}: ORDER_STATUS_CANCELED`), out);
  assert.match(out, /resumed after sequence \d+: [1-9]\d* events, no gap, no repeat/, out);
  assert.match(out, /error INVALID_ARGUMENT: .*\n {2}BadRequest field quantity: /, out);
}

test("the Node example (grpc-js) places, replaces, cancels, resumes its event stream and decodes error details", async () => {
  const run = `n${Date.now().toString(36)}`;
  const r = await runExample(process.execPath, ["examples/node/trading-client.mjs"], { RUN_ID: run });
  assert.equal(r.code, 0, r.out);
  assertTranscript(r.out, run);
});

test("the Python example (grpcio) does the same", async (t) => {
  const py = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["-c", "import grpc, google.protobuf"]).status === 0);
  const plugin = spawnSync("which", ["grpc_python_plugin"], { encoding: "utf8" }).stdout.trim();
  if (py === undefined || plugin === "" || spawnSync("protoc", ["--version"]).status !== 0) {
    t.skip("python3 with grpcio, protoc and grpc_python_plugin are not installed (apt-get install python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc)");
    return;
  }
  // Generate the stubs as examples/python/README.md says (into a temporary directory).
  const out = join(dir, "py");
  spawnSync("mkdir", ["-p", out]);
  const gen = spawnSync(
    "protoc",
    [`-I${join(root, "proto")}`, `-I${googleProtos}`, `--python_out=${out}`, `--grpc_out=${out}`, `--plugin=protoc-gen-grpc=${plugin}`, "trading/v1/trading_gateway.proto", "google/rpc/status.proto", "google/rpc/error_details.proto"],
    { encoding: "utf8" },
  );
  assert.equal(gen.status, 0, gen.stderr);
  assert.ok(readdirSync(join(out, "trading/v1")).includes("trading_gateway_pb2_grpc.py"));
  const run = `p${Date.now().toString(36)}`;
  const r = await runExample(py, ["examples/python/trading_client.py"], { RUN_ID: run, PYTHONPATH: out });
  assert.equal(r.code, 0, r.out);
  assertTranscript(r.out, run);
});

test("the Go example (grpc-go) does the same", { timeout: 300_000 }, async (t) => {
  const gocode = "/usr/share/gocode/src";
  const has = (cmd: string) => spawnSync("which", [cmd]).status === 0;
  if (!has("go") || !has("protoc") || !has("protoc-gen-go") || !has("protoc-gen-go-grpc") || !existsSync(join(gocode, "google.golang.org/grpc")) || !existsSync(join(gocode, "google.golang.org/genproto/googleapis/rpc/errdetails"))) {
    t.skip("go, protoc-gen-go, protoc-gen-go-grpc or grpc-go sources are not installed (apt-get install golang-go protoc-gen-go-1-3 protoc-gen-go-grpc golang-google-grpc-dev golang-google-genproto-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev)");
    return;
  }
  // GOPATH mode with Debian's packaged modules (examples/go/README.md shows the module-mode way).
  const gopath = join(dir, "gopath");
  const pkg = join(gopath, "src/example.com/trading-gateway-client");
  mkdirSync(join(pkg, "gen"), { recursive: true });
  copyFileSync(join(root, "examples/go/main.go"), join(pkg, "main.go"));
  const m = "Mtrading/v1/trading_gateway.proto=example.com/trading-gateway-client/gen/trading/v1;tradingv1";
  const gen = spawnSync("protoc", [`-I${join(root, "proto")}`, "--go_out=gen", "--go_opt=paths=source_relative", `--go_opt=${m}`, "--go-grpc_out=gen", "--go-grpc_opt=paths=source_relative", `--go-grpc_opt=${m}`, "trading/v1/trading_gateway.proto"], { cwd: pkg, encoding: "utf8" });
  assert.equal(gen.status, 0, gen.stderr);
  const bin = join(dir, "go-client");
  const build = spawnSync("go", ["build", "-o", bin, "."], { cwd: pkg, encoding: "utf8", env: { ...process.env, GO111MODULE: "off", GOPATH: `${gopath}:/usr/share/gocode`, GOCACHE: join(tmpdir(), "trading-gateway-examples-gocache"), GOFLAGS: "" }, timeout: 300_000 });
  assert.equal(build.status, 0, build.stderr);
  const run = `g${Date.now().toString(36)}`;
  const r = await runExample(bin, [], { RUN_ID: run });
  assert.equal(r.code, 0, r.out);
  assertTranscript(r.out, run);
});
