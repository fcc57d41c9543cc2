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

function writeId(b: Buffer, at: number, id: string): number {
  const n = b.write(id, at + 2, "utf8");
  b.writeUInt16LE(n, at);
  return at + 2 + n;
}

export function encodeOrderRows(rows: readonly OrderRow[]): Buffer {
  let size = 0;
  for (const r of rows) size += orderRowBytes(r.id);
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of rows) {
    b.writeDoubleLE(r.c, at);
    b.writeUInt8(r.status, at + 8);
    b.writeUInt32LE(r.venue, at + 9);
    b.writeUInt32LE(r.symbol, at + 13);
    b.writeDoubleLE(r.pos, at + 17);
    b.writeUInt32LE(r.len, at + 25);
    at = writeId(b, at + 29, r.id);
  }
  return b;
}

export function decodeOrderRows(b: Buffer): OrderRow[] {
  const rows: OrderRow[] = [];
  for (let at = 0; at < b.length; ) {
    const [id, next] = idOf(b, at + 29);
    rows.push({ c: b.readDoubleLE(at), status: b.readUInt8(at + 8), venue: b.readUInt32LE(at + 9), symbol: b.readUInt32LE(at + 13), pos: b.readDoubleLE(at + 17), len: b.readUInt32LE(at + 25), id });
    at = next;
  }
  return rows;
}

export function encodeFillRows(rows: readonly FillRow[]): Buffer {
  let size = 0;
  for (const r of rows) size += fillRowBytes(r.id);
  const b = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of rows) {
    b.writeDoubleLE(r.seq, at);
    b.writeDoubleLE(r.timeMs, at + 8);
    b.writeUInt32LE(r.venue, at + 16);
    b.writeUInt32LE(r.symbol, at + 20);
    b.writeDoubleLE(r.pos, at + 24);
    b.writeUInt32LE(r.len, at + 32);
    at = writeId(b, at + 36, r.id);
  }
  return b;
}

export function decodeFillRows(b: Buffer): FillRow[] {
  const rows: FillRow[] = [];
  for (let at = 0; at < b.length; ) {
    const [id, next] = idOf(b, at + 36);
    rows.push({ seq: b.readDoubleLE(at), timeMs: b.readDoubleLE(at + 8), venue: b.readUInt32LE(at + 16), symbol: b.readUInt32LE(at + 20), pos: b.readDoubleLE(at + 24), len: b.readUInt32LE(at + 32), id });
    at = next;
  }
  return rows;
}
