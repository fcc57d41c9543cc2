import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Http2Server } from "node:http2";

/**
 * The built dashboard (src/dashboard/build/build-dashboard.ts), read by config/dashboard-files.ts before
 * anything is built: index.html and the content-hashed assets it names.
 */
export interface DashboardBundle {
  readonly index: Buffer;
  /** By file name, served under /assets/. */
  readonly assets: ReadonlyMap<string, Buffer>;
}

/**
 * Only the page's own files, and calls to its own origin (Connect). The build puts every script
 * and style in a file, so no 'unsafe-inline' and no hashes are needed.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Readonly<Record<string, string>> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

const COMMON = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * GET / (index.html, `no-cache`: revalidated by ETag on every load, so a new build shows at once)
 * and GET /assets/<name> (hashed names: a year, `immutable`). Registered on the RPC app only when
 * the dashboard is on; every other path stays the RPC 404 of app.ts.
 */
export function registerDashboardRoutes(server: FastifyInstance<Http2Server>, bundle: DashboardBundle): void {
  const etag = `"${createHash("sha256").update(bundle.index).digest("base64url").slice(0, 22)}"`;
  server.get("/", (req, reply) => {
    void reply.headers({ ...COMMON, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache", etag });
    if (req.headers["if-none-match"] === etag) return reply.code(304).send();
    return reply.send(bundle.index);
  });
  server.get<{ Params: { name: string } }>("/assets/:name", (req, reply) => {
    const name = req.params.name;
    const body = bundle.assets.get(name);
    if (body === undefined) return reply.code(404).headers(COMMON).type("text/plain; charset=utf-8").send("not found\n");
    const ext = name.slice(name.lastIndexOf("."));
    return reply
      .headers({ ...COMMON, "content-type": TYPES[ext] ?? "application/octet-stream", "cache-control": "public, max-age=31536000, immutable" })
      .send(body);
  });
}
