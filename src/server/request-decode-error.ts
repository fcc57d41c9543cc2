import { Code, ConnectError } from "@connectrpc/connect";

/**
 * What connect-es (2.2) throws, with Code.Internal, for a request it cannot decode:
 * createBinarySerialization's parse ("parse binary: " + protobuf-es's reason), and
 * envelopeDecompress for a message flagged compressed in a request that names no encoding.
 * test/e2e/differential.test.ts checks the code and message each path answers, so an upgrade that
 * rewords them fails there.
 */
const PARSE_BINARY = "parse binary: ";
const COMPRESSED_WITHOUT_ENCODING = "received compressed envelope, but do not know how to decompress";

/**
 * The error a client gets for a request message it sent that cannot be decoded, in place of
 * connect's INTERNAL (which the gateway keeps for its own bugs): INVALID_ARGUMENT, as
 * connect-go answers a message it cannot unmarshal, naming the message type and the reason.
 * Undefined when the error is not one of those (it is then answered as it is).
 *
 * Both paths answer through it: the fast path where it decodes, connect's path at the edge
 * (protocol-edge.ts), from the status on the wire. `encodingHeader` is the header that names
 * a message encoding in the call's protocol (grpc-encoding, connect-content-encoding).
 */
export function requestDecodeError(typeName: string, code: Code, rawMessage: string, encodingHeader: string): ConnectError | undefined {
  if (code !== Code.Internal) return undefined;
  if (rawMessage.startsWith(PARSE_BINARY)) {
    return new ConnectError(
      `invalid request: cannot decode ${typeName} from protobuf binary: ${rawMessage.slice(PARSE_BINARY.length)}`,
      Code.InvalidArgument,
    );
  }
  if (rawMessage === COMPRESSED_WITHOUT_ENCODING) return compressedWithoutEncoding(encodingHeader);
  return undefined;
}

/**
 * A message flagged compressed in a request without an encoding header. grpc-go and
 * connect-go answer INTERNAL; the gateway answers INVALID_ARGUMENT because the fault is the
 * client's and INTERNAL means a gateway bug here (README, Errors).
 */
export function compressedWithoutEncoding(encodingHeader: string): ConnectError {
  return new ConnectError(
    `protocol error: the message is flagged compressed, but the request has no ${encodingHeader} header naming its compression`,
    Code.InvalidArgument,
  );
}
