// The HPACK/QPACK Huffman code (RFC 7541 Appendix B). It is canonical: codes follow from the code
// lengths alone (shorter first, then by symbol), so the table below holds just the 257 lengths.
import { DecodeError } from "../../util/bytes.js";

// prettier-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;

// Canonical code construction.
const CODES = new Array<number>(257);
const ORDER = LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
const FIRST = new Array<number>(31).fill(-1); // first canonical code of each length
const START = new Array<number>(31).fill(0); // index into ORDER of that first code
const COUNT = new Array<number>(31).fill(0);
{
  let code = 0;
  let prev = ORDER[0].len;
  ORDER.forEach((e, i) => {
    code *= 2 ** (e.len - prev);
    prev = e.len;
    if (FIRST[e.len] === -1) {
      FIRST[e.len] = code;
      START[e.len] = i;
    }
    COUNT[e.len]++;
    CODES[e.sym] = code++;
  });
}

export function huffmanDecode(data: Uint8Array): string {
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of data) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      if (len > 30) throw new DecodeError("invalid Huffman code");
      const first = FIRST[len];
      if (first === -1 || code - first >= COUNT[len] || code < first) continue;
      const sym = ORDER[START[len] + code - first].sym;
      if (sym === EOS) throw new DecodeError("EOS inside a Huffman string");
      out.push(sym);
      code = 0;
      len = 0;
    }
  }
  // Padding must be the most significant bits of EOS (all ones) and shorter than a byte.
  if (len > 7 || code !== 2 ** len - 1) throw new DecodeError("invalid Huffman padding");
  return Buffer.from(out).toString("latin1");
}

export function huffmanEncode(s: string): Uint8Array {
  const bytes = Buffer.from(s, "latin1");
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    const len = LENGTHS[b];
    const code = CODES[b];
    for (let i = len - 1; i >= 0; i--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) | ((1 << (8 - bits)) - 1));
  return Uint8Array.from(out);
}
