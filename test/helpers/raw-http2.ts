import { codeFromString } from "@connectrpc/connect/protocol-connect";
import type * as http2 from "node:http2";

/** One raw HTTP/2 response, so that every header, trailer and body byte of two servers can be compared. */
export interface RawResponse {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  /** The body bytes, hex. */
  body: string;
}

/** The headers less the volatile ones (`date`, and whatever else the comparison must ignore). */
export function stripHeaders(h: http2.IncomingHttpHeaders, drop: ReadonlySet<string>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) if (!drop.has(k)) o[k] = v;
  return o;
}

/** Collects the response of a request already sent on `req`; rejects on a stream error. */
export function collectResponse(req: http2.ClientHttp2Stream, drop: ReadonlySet<string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const out: RawResponse = { headers: {}, trailers: {}, body: "" };
    const chunks: Buffer[] = [];
    req.on("response", (h) => (out.headers = stripHeaders(h, drop)));
    req.on("trailers", (t) => (out.trailers = stripHeaders(t, drop)));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("close", () => {
      out.body = Buffer.concat(chunks).toString("hex");
      resolve(out);
    });
  });
}

/**
 * The status of a raw answer in the protocol it is in: gRPC (trailers, or headers when
 * trailers-only), gRPC-Web (the trailer envelope, or headers), Connect streaming (the end-stream
 * envelope) and Connect unary (HTTP status and error JSON). Code 0 for success.
 */
export function rawStatus(r: RawResponse): { code: number; message: string } {
  const grpc = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
  const body = Buffer.from(r.body, "hex");
  const ct = String(r.headers["content-type"] ?? "");
  if (grpc !== undefined) {
    return { code: Number(grpc), message: decodeURIComponent(String(r.trailers["grpc-message"] ?? r.headers["grpc-message"] ?? "")) };
  }
  if (ct.startsWith("application/grpc-web")) {
    const text = Buffer.from(lastEnvelope(body, 0x80) ?? []).toString("utf8");
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(text)?.[1]?.replace(/\r$/, "");
    return { code: Number(field("grpc-status")), message: decodeURIComponent(field("grpc-message") ?? "") };
  }
  if (ct.startsWith("application/connect+")) {
    const end = JSON.parse(Buffer.from(lastEnvelope(body, 0x02) ?? []).toString("utf8")) as { error?: { code: string; message?: string } };
    return end.error === undefined ? { code: 0, message: "" } : { code: codeOf(end.error.code), message: end.error.message ?? "" };
  }
  if (r.headers[":status"] === 200) return { code: 0, message: "" };
  const e = JSON.parse(body.toString("utf8")) as { code: string; message?: string };
  return { code: codeOf(e.code), message: e.message ?? "" };
}

/** The data of the last envelope flagged `flag` (uncompressed) in a gRPC-Web or Connect streaming body. */
function lastEnvelope(body: Buffer, flag: number): Buffer | undefined {
  let found: Buffer | undefined;
  for (let at = 0; at + 5 <= body.byteLength; ) {
    const length = body.readUInt32BE(at + 1);
    if ((body[at]! & flag) === flag) found = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
  }
  return found;
}

function codeOf(name: string): number {
  const code = codeFromString(name);
  if (code === undefined) throw new Error(`not a Connect code: ${name}`);
  return code;
}
