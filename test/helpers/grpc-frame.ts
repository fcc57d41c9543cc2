/** A gRPC / gRPC-Web length-prefixed message: flags byte, 4-byte big-endian length, payload. */
export function frame(msg: Uint8Array, flags = 0): Uint8Array {
  const b = Buffer.alloc(msg.byteLength + 5);
  b[0] = flags;
  b.writeUInt32BE(msg.byteLength, 1);
  b.set(msg, 5);
  return b;
}
