// QPACK (RFC 9204) field sections for a decoder whose dynamic table capacity is 0: we advertise
// QPACK_MAX_TABLE_CAPACITY 0, so peers may only use the static table and literals. Anything that
// references the dynamic table is QPACK_DECOMPRESSION_FAILED.
import { DecodeError } from "../../util/bytes.js";
import { huffmanDecode } from "./huffman.js";
import { STATIC_TABLE } from "./static-table.js";

export class QpackError extends Error {}

export type Fields = Array<[string, string]>;

/** An N-bit prefixed integer (RFC 7541 §5.1) starting at data[pos]. */
function prefixInt(data: Uint8Array, pos: number, n: number): [number, number] {
  if (pos >= data.length) throw new QpackError("truncated integer");
  const max = (1 << n) - 1;
  let v = data[pos] & max;
  pos++;
  if (v < max) return [v, pos];
  let shift = 0;
  for (;;) {
    if (pos >= data.length) throw new QpackError("truncated integer");
    const b = data[pos++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (shift > 49) throw new QpackError("integer too large");
    if ((b & 0x80) === 0) return [v, pos];
  }
}

/** A string literal whose H bit sits just above an N-bit length prefix. */
function stringLit(data: Uint8Array, pos: number, n: number): [string, number] {
  const huffman = (data[pos] & (1 << n)) !== 0;
  const [len, p] = prefixInt(data, pos, n);
  if (p + len > data.length) throw new QpackError("truncated string");
  const raw = data.subarray(p, p + len);
  try {
    return [huffman ? huffmanDecode(raw) : Buffer.from(raw).toString("latin1"), p + len];
  } catch (e) {
    if (e instanceof DecodeError) throw new QpackError(e.message);
    throw e;
  }
}

function staticEntry(i: number): readonly [string, string] {
  const e = STATIC_TABLE[i];
  if (e === undefined) throw new QpackError(`static index ${i} out of range`);
  return e;
}

export function decodeFieldSection(block: Uint8Array, maxSize = 64 * 1024): Fields {
  const [ric, afterRic] = prefixInt(block, 0, 8);
  let pos = afterRic;
  if (ric !== 0) throw new QpackError("dynamic table reference (Required Insert Count > 0)");
  [, pos] = prefixInt(block, pos, 7); // Delta Base: meaningless without a dynamic table
  const out: Fields = [];
  let size = 0;
  while (pos < block.length) {
    const b = block[pos];
    let name: string;
    let value: string;
    if (b & 0x80) {
      // Indexed field line: 1 T index(6)
      if ((b & 0x40) === 0) throw new QpackError("dynamic table reference");
      let i;
      [i, pos] = prefixInt(block, pos, 6);
      [name, value] = staticEntry(i);
    } else if (b & 0x40) {
      // Literal with name reference: 01 N T index(4)
      if ((b & 0x10) === 0) throw new QpackError("dynamic table name reference");
      let i;
      [i, pos] = prefixInt(block, pos, 4);
      name = staticEntry(i)[0];
      [value, pos] = stringLit(block, pos, 7);
    } else if (b & 0x20) {
      // Literal with literal name: 001 N H namelen(3)
      [name, pos] = stringLit(block, pos, 3);
      [value, pos] = stringLit(block, pos, 7);
    } else {
      throw new QpackError("post-base reference without a dynamic table");
    }
    size += name.length + value.length + 32;
    if (size > maxSize) throw new QpackError(`field section exceeds ${maxSize} bytes`);
    out.push([name, value]);
  }
  return out;
}

function putInt(out: number[], first: number, n: number, v: number): void {
  const max = (1 << n) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function putString(out: number[], first: number, n: number, s: string): void {
  const bytes = Buffer.from(s, "latin1");
  putInt(out, first, n, bytes.length);
  for (const b of bytes) out.push(b);
}

/** Static references where they match, literals otherwise (no Huffman: responses are tiny). */
export function encodeFieldSection(fields: Fields): Uint8Array {
  const out: number[] = [0, 0]; // Required Insert Count 0, Delta Base 0
  for (const [name, value] of fields) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      putInt(out, 0xc0, 6, exact);
      continue;
    }
    const byName = STATIC_TABLE.findIndex(([n]) => n === name);
    if (byName >= 0) putInt(out, 0x50, 4, byName);
    else putString(out, 0x20, 3, name);
    putString(out, 0x00, 7, value);
  }
  return Uint8Array.from(out);
}
