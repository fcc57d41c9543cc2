import { Code, ConnectError } from "@connectrpc/connect";
import { contentTypeRegExp as connectContentType } from "@connectrpc/connect/protocol-connect";
import { contentTypeRegExp as grpcContentType } from "@connectrpc/connect/protocol-grpc";
import { contentTypeRegExp as grpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";

const EXPECTED =
  "expected application/grpc (+proto, +json), application/grpc-web (+proto, +json), application/proto or application/json (Connect), application/connect+proto or +json (Connect streaming)";

export interface RpcRequestGuard {
  /**
   * The error for a POST to an RPC whose content type none of the port's protocols speaks
   * (answered with HTTP 415), or undefined to leave the call to connect. Without this, Fastify
   * answered a missing or unknown content type with its own JSON body ("FST_ERR_CTP_INVALID_MEDIA_TYPE"),
   * which no RPC client reads, and connect with an empty 415.
   */
  contentTypeError(contentType: string | string[] | undefined): ConnectError | undefined;
  /** The error for a request to a path that is no RPC of this server (answered with HTTP 404). */
  unknownRpcError(method: string, url: string): ConnectError;
}

/** `services`: the type names of the services the port serves (routes.ts SERVED_SERVICES). */
export function createRpcRequestGuard(deps: { readonly services: Iterable<string> }): RpcRequestGuard {
  const services = new Set(deps.services);
  return {
    contentTypeError(contentType) {
      if (contentType === undefined || contentType === "") {
        return new ConnectError(`missing content-type header: ${EXPECTED}`, Code.InvalidArgument);
      }
      const ct = typeof contentType === "string" ? contentType : contentType.join(", ");
      // The content types connect's router negotiates a protocol for; it answers the rest itself.
      if (grpcContentType.test(ct) || grpcWebContentType.test(ct) || connectContentType.test(ct)) return undefined;
      return new ConnectError(`unsupported content-type ${JSON.stringify(ct.slice(0, 100))}: ${EXPECTED}`, Code.InvalidArgument);
    },
    unknownRpcError(method, url) {
      const path = url.split("?", 1)[0]!;
      const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
      const shown = JSON.stringify(path.slice(0, 200));
      // For RPC-shaped paths, the messages grpc-go gives: tools show what they show for any gRPC server.
      if (m === null) return new ConnectError(`unknown path ${shown} (${method}): RPCs are /<package.Service>/<Method>`, Code.Unimplemented);
      const [service, name] = [m[1]!.slice(0, 200), m[2]!.slice(0, 200)];
      if (!services.has(service)) return new ConnectError(`unknown service ${service}`, Code.Unimplemented);
      return new ConnectError(`unknown method ${name} for service ${service}`, Code.Unimplemented);
    },
  };
}
