import type { HttpRequest } from "../http-client.js";
import { joinUrl } from "../rest-venue-adapter.js";
import type { UnsignedRequest } from "../translator.js";
import { encodeParams } from "../translator.js";
import type { RestJsonAuth } from "./describe.js";

export function signRestJsonRequest(
  request: UnsignedRequest,
  auth: RestJsonAuth,
  credentials: Readonly<Record<string, string>>,
  baseUrl: string,
): HttpRequest {
  const headers: Record<string, string> = {};
  if (request.body !== "") headers["Content-Type"] = request.contentType ?? "application/json";
  if (auth.type === "header") headers[auth.header] = `${auth.prefix ?? ""}${credentials[auth.credential] ?? ""}`;
  return {
    method: request.method,
    url: joinUrl(baseUrl, request.path, encodeParams(request.query)),
    headers,
    ...(request.body !== "" ? { body: request.body } : {}),
  };
}
