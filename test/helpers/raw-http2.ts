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
