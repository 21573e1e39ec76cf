// Integers as each draft writes them: QUIC varints on 14–16, "leading-ones" varints on 17+ (the
// count of leading 1-bits in the first byte gives the length, moq-wire §3.1). IetfReader and
// IetfWriter are the util/bytes Reader and Writer with that one method swapped, so strings and
// every message body follow the draft without the codecs caring.
import { DecodeError, Reader, ShortRead, Writer } from "../../util/bytes.js";
import { forbids7ByteVarint, leadingOnes, type Draft } from "./version.js";

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Encoded size of a leading-ones varint (the 7-byte form is never written, as @moq/net and Rust do). */
export function loSize(v: number): number {
  if (v < 2 ** 7) return 1;
  if (v < 2 ** 14) return 2;
  if (v < 2 ** 21) return 3;
  if (v < 2 ** 28) return 4;
  if (v < 2 ** 35) return 5;
  if (v < 2 ** 42) return 6;
  if (v < 2 ** 56) return 8;
  return 9;
}

/** Lengths by leading ones in byte 0 (index = count of leading 1-bits). */
const LO_LEN = [1, 2, 3, 4, 5, 6, 7, 8, 9];

export class IetfReader extends Reader {
  private readonly lo: boolean;
  private readonly no7: boolean;

  constructor(
    buf: Uint8Array,
    readonly draft: Draft,
    start = 0,
    end = buf.length,
  ) {
    super(buf, start, end);
    this.lo = leadingOnes(draft);
    this.no7 = forbids7ByteVarint(draft);
  }

  override varint(): number {
    if (!this.lo) return super.varint();
    if (this.pos >= this.end) throw new ShortRead();
    const b = this.buf;
    const first = b[this.pos];
    const ones = Math.clz32(~(first << 24)); // leading 1-bits of the byte
    const len = LO_LEN[ones];
    if (len === 7 && this.no7) throw new DecodeError("the 7-byte varint form is reserved on draft-17");
    if (this.end - this.pos < len) throw new ShortRead();
    // Value bits of byte 0: 7 - ones of them (none for 8 and 9 bytes).
    let v = ones >= 7 ? 0 : first & (0xff >> (ones + 1));
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[this.pos + i];
      if (v > MAX_SAFE) throw new DecodeError("varint exceeds 2^53");
    }
    this.pos += len;
    return v;
  }

  /** A u8 boolean: 0 or 1, anything else is malformed. */
  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new DecodeError(`invalid boolean ${b}`);
    return b === 1;
  }

  /** A sub-reader over the next `n` bytes (a parameter value, a message body). */
  sub(n: number): IetfReader {
    return new IetfReader(this.bytes(n), this.draft);
  }
}

const scratch = new Uint8Array(9);

export class IetfWriter extends Writer {
  private readonly lo: boolean;

  constructor(
    readonly draft: Draft,
    capacity = 64,
  ) {
    super(capacity);
    this.lo = leadingOnes(draft);
  }

  override varint(v: number): this {
    if (!this.lo) return super.varint(v);
    if (!Number.isInteger(v) || v < 0 || v > MAX_SAFE) throw new RangeError(`varint out of range: ${v}`);
    const n = loSize(v);
    const bytes = scratch;
    let x = v;
    for (let i = n - 1; i >= 1; i--) {
      bytes[i] = x % 256;
      x = Math.floor(x / 256);
    }
    // Byte 0: n-1 leading ones, a zero, then the top value bits (8- and 9-byte forms: all ones).
    if (n === 9) bytes[0] = 0xff;
    else if (n === 8) bytes[0] = 0xfe;
    else bytes[0] = ((0xff00 >> (n - 1)) & 0xff) | x;
    return this.bytes(bytes.subarray(0, n));
  }

  bool(b: boolean): this {
    return this.u8(b ? 1 : 0);
  }
}

/** What `fn` writes for `draft`, as a standalone buffer. */
export function encode(draft: Draft, fn: (w: IetfWriter) => void, capacity = 64): Uint8Array {
  const w = new IetfWriter(draft, capacity);
  fn(w);
  return w.finish();
}
