// Byte-level reader and writer with QUIC variable-length integers (RFC 9000 §16), shared by every
// codec in the relay: QMux/QUIC frames, HTTP/3 and capsules, and moq-lite messages.
//
// Numbers are JS numbers: every varint the relay handles in practice (ids, lengths, sequences,
// hop ids truncated to 53 bits by the JS client anyway) fits in 2^53. A varint above
// Number.MAX_SAFE_INTEGER is rejected as a decode error rather than silently rounded; the 62-bit
// values that need exact handling (hop ids) use readVarBig/writeVarBig.

/** Not enough bytes yet: the caller should wait for more data and retry from the same offset. */
export class ShortRead extends Error {
  constructor() {
    super("short read");
  }
}

/** The bytes are malformed; no amount of further data will fix them. */
export class DecodeError extends Error {}

const MAX_VARINT = 2 ** 62 - 1;
const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();

/** Encoded size of a varint. */
export function varintSize(v: number): number {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

export class Reader {
  buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw new ShortRead();
    return this.buf[this.pos++];
  }

  u16(): number {
    if (this.end - this.pos < 2) throw new ShortRead();
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  varint(): number {
    if (this.pos >= this.end) throw new ShortRead();
    const b = this.buf;
    const first = b[this.pos];
    const len = 1 << (first >> 6);
    if (this.end - this.pos < len) throw new ShortRead();
    let v = first & 0x3f;
    if (len === 8) {
      // Split so the high word stays exact; reject anything beyond 2^53.
      const hi = ((v << 24) | (b[this.pos + 1] << 16) | (b[this.pos + 2] << 8) | b[this.pos + 3]) >>> 0;
      const lo = ((b[this.pos + 4] << 24) | (b[this.pos + 5] << 16) | (b[this.pos + 6] << 8) | b[this.pos + 7]) >>> 0;
      if (hi >= 0x200000) throw new DecodeError("varint exceeds 2^53");
      this.pos += 8;
      return hi * 0x100000000 + lo;
    }
    for (let i = 1; i < len; i++) v = (v << 8) | b[this.pos + i];
    this.pos += len;
    return v >>> 0;
  }

  /** A full 62-bit varint as a bigint (for ids that must round-trip exactly). */
  varBig(): bigint {
    if (this.pos >= this.end) throw new ShortRead();
    const first = this.buf[this.pos];
    const len = 1 << (first >> 6);
    if (this.end - this.pos < len) throw new ShortRead();
    let v = BigInt(first & 0x3f);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(this.buf[this.pos + i]);
    this.pos += len;
    return v;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    if (n < 0) throw new DecodeError("negative length");
    if (this.end - this.pos < n) throw new ShortRead();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-prefixed UTF-8 string. */
  string(max = 65536): string {
    const n = this.varint();
    if (n > max) throw new DecodeError(`string of ${n} bytes exceeds ${max}`);
    try {
      return textDecoder.decode(this.bytes(n));
    } catch (e) {
      if (e instanceof ShortRead) throw e;
      throw new DecodeError("invalid UTF-8");
    }
  }

  /** The rest of the buffer, as a view. */
  rest(): Uint8Array {
    const out = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return out;
  }
}

export class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.buf[this.pos++] = v >> 8;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  varint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_VARINT) throw new RangeError(`varint out of range: ${v}`);
    this.reserve(8);
    const b = this.buf;
    if (v < 0x40) {
      b[this.pos++] = v;
    } else if (v < 0x4000) {
      b[this.pos++] = 0x40 | (v >> 8);
      b[this.pos++] = v & 0xff;
    } else if (v < 0x40000000) {
      b[this.pos++] = 0x80 | (v >>> 24);
      b[this.pos++] = (v >>> 16) & 0xff;
      b[this.pos++] = (v >>> 8) & 0xff;
      b[this.pos++] = v & 0xff;
    } else {
      const hi = Math.floor(v / 0x100000000);
      const lo = v >>> 0;
      b[this.pos++] = 0xc0 | (hi >>> 24);
      b[this.pos++] = (hi >>> 16) & 0xff;
      b[this.pos++] = (hi >>> 8) & 0xff;
      b[this.pos++] = hi & 0xff;
      b[this.pos++] = lo >>> 24;
      b[this.pos++] = (lo >>> 16) & 0xff;
      b[this.pos++] = (lo >>> 8) & 0xff;
      b[this.pos++] = lo & 0xff;
    }
    return this;
  }

  /** A 62-bit varint from a bigint, always in the 8-byte form when ≥ 2^30. */
  varBig(v: bigint): this {
    if (v < 0n || v > BigInt(MAX_VARINT)) throw new RangeError(`varint out of range: ${v}`);
    if (v < 0x40000000n) return this.varint(Number(v));
    this.reserve(8);
    for (let i = 7; i >= 0; i--) {
      const byte = Number((v >> BigInt(i * 8)) & 0xffn);
      this.buf[this.pos++] = i === 7 ? 0xc0 | byte : byte;
    }
    return this;
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  string(s: string): this {
    const data = textEncoder.encode(s);
    return this.varint(data.length).bytes(data);
  }

  /** A view of what has been written (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** A copy of what has been written, safe to hand to a stream. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  reset(): void {
    this.pos = 0;
  }
}
