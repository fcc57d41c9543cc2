import { createRegistry, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** grpc.Code NOT_FOUND, as reflection puts it in ErrorResponse.error_code. */
const NOT_FOUND = 5;

type Request = {
  host: string;
  messageRequest:
    | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
    | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
    | { case: undefined; value?: undefined };
};

/**
 * Server reflection answers computed once from the generated descriptors of
 * the services we serve (and every file they import), so grpcurl, `buf curl`
 * and Postman need no schema file. The same answers serve v1 and v1alpha;
 * only the message types differ.
 */
export function createReflection(services: readonly DescService[]) {
  const files = new Map<string, DescFile>();
  const addFile = (f: DescFile) => {
    if (files.has(f.name + ".proto")) return;
    files.set(f.name + ".proto", f);
    for (const d of f.dependencies) addFile(d);
  };
  for (const s of services) addFile(s.file);
  const registry = createRegistry(...files.values());
  const encoded = new Map<string, Uint8Array>([...files].map(([name, f]) => [name, toBinary(FileDescriptorProtoSchema, f.proto)]));

  /** The file and its transitive imports, as grpc-go does, so clients need one round trip. */
  const withDeps = (f: DescFile): Uint8Array[] => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const walk = (x: DescFile) => {
      const name = x.name + ".proto";
      if (seen.has(name)) return;
      seen.add(name);
      out.push(encoded.get(name)!);
      for (const d of x.dependencies) walk(d);
    };
    walk(f);
    return out;
  };

  const fileOfSymbol = (symbol: string): DescFile | undefined => {
    const d = registry.get(symbol);
    if (d !== undefined && "file" in d) return d.file;
    // A method ("pkg.Service.Method") or a field ("pkg.Message.field") lives in its parent's file.
    const parent = registry.get(symbol.slice(0, Math.max(0, symbol.lastIndexOf("."))));
    return parent !== undefined && "file" in parent ? parent.file : undefined;
  };

  const notFound = (what: string) => ({ case: "errorResponse" as const, value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } });

  function answer(req: Request) {
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return { case: "listServicesResponse" as const, value: { service: services.map((s) => ({ name: s.typeName })) } };
      case "fileByFilename": {
        const f = files.get(r.value);
        return f === undefined ? notFound(`file "${r.value}"`) : { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDeps(f) } };
      }
      case "fileContainingSymbol": {
        const f = fileOfSymbol(r.value);
        return f === undefined ? notFound(`symbol "${r.value}"`) : { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDeps(f) } };
      }
      case "fileContainingExtension": {
        const base = registry.getMessage(r.value.containingType);
        const ext = base === undefined ? undefined : registry.getExtensionFor(base, r.value.extensionNumber);
        return ext === undefined ? notFound(`extension ${r.value.containingType}(${r.value.extensionNumber})`) : { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDeps(ext.file) } };
      }
      case "allExtensionNumbersOfType": {
        const m = registry.getMessage(r.value);
        if (m === undefined) return notFound(`type "${r.value}"`);
        const numbers: number[] = [];
        for (const t of registry) if (t.kind === "extension" && t.extendee.typeName === m.typeName) numbers.push(t.number);
        return { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: m.typeName, extensionNumber: numbers } };
      }
      default:
        return { case: "errorResponse" as const, value: { errorCode: 3, errorMessage: "empty reflection request" } };
    }
  }

  function respond<R extends Request>(req: R) {
    return { validHost: req.host, originalRequest: req, messageResponse: answer(req) };
  }

  const v1: ServiceImpl<typeof ReflectionV1> = {
    async *serverReflectionInfo(reqs, ctx) {
      for await (const req of untilAborted(reqs, ctx.signal)) yield respond(req);
    },
  };
  const v1alpha: ServiceImpl<typeof ReflectionV1alpha> = {
    async *serverReflectionInfo(reqs, ctx) {
      for await (const req of untilAborted(reqs, ctx.signal)) yield respond(req);
    },
  };
  return { v1, v1alpha, answer };
}

/**
 * The request stream until `signal` aborts, which then throws its reason. A reflection stream
 * (grpcurl, `buf curl`) waits on its client's next request: without this, shutdown could not end
 * it (it waited out the grace period) and neither could a client that left without a word.
 */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T, void, undefined> {
  const it = source[Symbol.asyncIterator]();
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(ConnectError.from(signal.reason, Code.Canceled));
  });
  aborted.catch(() => {});
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const next = it.next();
      // Left pending when the abort wins; it then settles (or fails) with nobody waiting.
      next.catch(() => {});
      const r = await Promise.race([next, aborted]);
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

export { ReflectionV1, ReflectionV1alpha };
