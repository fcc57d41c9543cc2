/**
 * The byte layout of the ListOrders index's frozen segments (memory-order-history.ts): a run of
 * rows in listing order, written to the records arena (and so to the spill file) as one record, so
 * that memory keeps a few numbers per segment instead of a row per order. Little-endian, one row
 * after another, each a fixed head and the order id in UTF-8:
 *
 *   order row: created_at ms (f64), status (u8), venue (u32), symbol (u32), record position (f64,
 *              -1 while the order was open when frozen), record length (u32), id length (u16), id
 *   fill row:  sequence (f64), time ms (f64), venue (u32), symbol (u32), record position (f64),
 *              record length (u32), id length (u16), id
 *
 * Venue and symbol are the index's name numbers. Segments are read back whole and decoded into
 * row objects: that happens for a listing, or on the rare paths (a late event of an order already
 * frozen), never per PlaceOrder.
 */

export interface OrderRow {
  c: number;
  status: number;
  venue: number;
  symbol: number;
  pos: number;
  len: number;
  id: string;
}

export interface FillRow {
  seq: number;
  timeMs: number;
  venue: number;
  symbol: number;
  pos: number;
  len: number;
  id: string;
}

const ORDER_HEAD = 31;
const FILL_HEAD = 38;

/** The encoded size of an order row with this id. */
export const orderRowBytes = (id: string): number => ORDER_HEAD + Buffer.byteLength(id);
/** The encoded size of a fill row with this id. */
export const fillRowBytes = (id: string): number => FILL_HEAD + Buffer.byteLength(id);

function idOf(b: Buffer, at: number): [string, number] {
  const n = b.readUInt16LE(at);
  return [b.toString("utf8", at + 2, at + 2 + n), at + 2 + n];
}

function encodeRows<R extends { readonly id: string }>(rows: readonly R[], rowBytes: (id: string) => number, write: (b: Buffer, at: number, r: R) => number): Buffer {
  let size = 0;
  for (const r of rows) size += rowBytes(r.id);
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of rows) at = write(b, at, r);
  return b;
}

function writeId(b: Buffer, at: number, id: string): number {
  const n = b.write(id, at + 2, "utf8");
  b.writeUInt16LE(n, at);
  return at + 2 + n;
}

/** Writes one order row at `at`; returns where the next one goes. */
export function writeOrderRow(b: Buffer, at: number, c: number, status: number, venue: number, symbol: number, pos: number, len: number, id: string): number {
  b.writeDoubleLE(c, at);
  b.writeUInt8(status, at + 8);
  b.writeUInt32LE(venue, at + 9);
  b.writeUInt32LE(symbol, at + 13);
  b.writeDoubleLE(pos, at + 17);
  b.writeUInt32LE(len, at + 25);
  return writeId(b, at + 29, id);
}

export const encodeOrderRows = (rows: readonly OrderRow[]): Buffer =>
  encodeRows(rows, orderRowBytes, (b, at, r) => writeOrderRow(b, at, r.c, r.status, r.venue, r.symbol, r.pos, r.len, r.id));

/** Every row of a segment, each read by `read` from its start `at` and its id (which begins at `at + idAt`). */
function decodeRows<R>(b: Buffer, idAt: number, read: (b: Buffer, at: number, id: string) => R): R[] {
  const rows: R[] = [];
  for (let at = 0; at < b.length; ) {
    const [id, next] = idOf(b, at + idAt);
    rows.push(read(b, at, id));
    at = next;
  }
  return rows;
}

export const decodeOrderRows = (b: Buffer): OrderRow[] =>
  decodeRows(b, 29, (b, at, id) => ({ c: b.readDoubleLE(at), status: b.readUInt8(at + 8), venue: b.readUInt32LE(at + 9), symbol: b.readUInt32LE(at + 13), pos: b.readDoubleLE(at + 17), len: b.readUInt32LE(at + 25), id }));

/** Writes one fill row at `at`; returns where the next one goes. */
export function writeFillRow(b: Buffer, at: number, seq: number, timeMs: number, venue: number, symbol: number, pos: number, len: number, id: string): number {
  b.writeDoubleLE(seq, at);
  b.writeDoubleLE(timeMs, at + 8);
  b.writeUInt32LE(venue, at + 16);
  b.writeUInt32LE(symbol, at + 20);
  b.writeDoubleLE(pos, at + 24);
  b.writeUInt32LE(len, at + 32);
  return writeId(b, at + 36, id);
}

export const encodeFillRows = (rows: readonly FillRow[]): Buffer =>
  encodeRows(rows, fillRowBytes, (b, at, r) => writeFillRow(b, at, r.seq, r.timeMs, r.venue, r.symbol, r.pos, r.len, r.id));

export const decodeFillRows = (b: Buffer): FillRow[] =>
  decodeRows(b, 36, (b, at, id) => ({ seq: b.readDoubleLE(at), timeMs: b.readDoubleLE(at + 8), venue: b.readUInt32LE(at + 16), symbol: b.readUInt32LE(at + 20), pos: b.readDoubleLE(at + 24), len: b.readUInt32LE(at + 32), id }));

/** Does the segment hold the order (c, id)? Reads each row's time, and its id only where the time matches: no row is decoded. */
export function hasOrderRow(b: Buffer, c: number, id: string): boolean {
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt16LE(at + 29);
    if (b.readDoubleLE(at) === c && b.toString("utf8", at + ORDER_HEAD, at + ORDER_HEAD + n) === id) return true;
    at += ORDER_HEAD + n;
  }
  return false;
}

/** Does the segment hold a fill of this sequence? */
export function hasFillRow(b: Buffer, seq: number): boolean {
  for (let at = 0; at < b.length; at += FILL_HEAD + b.readUInt16LE(at + 36)) if (b.readDoubleLE(at) === seq) return true;
  return false;
}
