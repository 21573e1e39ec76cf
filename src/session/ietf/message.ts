// Control-message framing shared by every draft: `Type (i) · Length (u16) · Body` (moq-wire §3.1).
// `writeControl` appends one message; `ControlFramer` pulls whole messages out of a stream's
// chunks without a promise per chunk. A length over the session's limit is refused as soon as it
// is known; short or trailing bytes inside a body are decode errors.
import { DecodeError, ShortRead } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";
import { IetfReader, IetfWriter } from "./wire.js";
import type { Draft } from "./version.js";

const MAX_U16 = 0xffff;

/** Append `type` and `body` (behind its u16 length) to `w`. */
export function writeControl(w: IetfWriter, type: number, body: (w: IetfWriter) => void): void {
  const tmp = new IetfWriter(w.draft);
  body(tmp);
  if (tmp.pos > MAX_U16) throw new MoqError(Code.Encode, `control message of ${tmp.pos} bytes exceeds 65535`);
  w.varint(type).u16(tmp.pos).bytes(tmp.view());
}

/** One control message as a standalone buffer. */
export function control(draft: Draft, type: number, body: (w: IetfWriter) => void): Uint8Array {
  const w = new IetfWriter(draft);
  writeControl(w, type, body);
  return w.finish();
}

/** Decode a whole body with `fn`: every byte must be consumed. */
export function readBody<T>(r: IetfReader, fn: (r: IetfReader) => T): T {
  let out: T;
  try {
    out = fn(r);
  } catch (e) {
    if (e instanceof ShortRead) throw new DecodeError("message shorter than its fields");
    throw e;
  }
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} trailing bytes in message`);
  return out;
}

/** A framed control message: its type and a reader over exactly its body. */
export interface ControlMessage {
  type: number;
  body: IetfReader;
  /** The whole message (type, length and body), as received. */
  raw: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export class ControlFramer {
  private buf: Uint8Array = EMPTY;
  private head = 0;
  private tail = 0;
  /** `buf` is ours (not a transport chunk), so bytes may be appended after `tail`. */
  private owned = false;

  constructor(
    readonly draft: Draft,
    /** Largest body accepted, in bytes. */
    readonly maxMessage: number,
  ) {}

  get pending(): number {
    return this.tail - this.head;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const pending = this.tail - this.head;
    if (pending === 0) {
      this.buf = chunk;
      this.head = 0;
      this.tail = chunk.length;
      this.owned = false;
      return;
    }
    // Append in place while our own buffer has room: a message trickling in a byte at a time
    // must not be copied whole on every chunk. Bytes below `tail` are never overwritten, so
    // bodies and raw views handed out earlier stay valid.
    if (this.owned && this.tail + chunk.length <= this.buf.length) {
      this.buf.set(chunk, this.tail);
      this.tail += chunk.length;
      return;
    }
    const next = new Uint8Array(Math.max(256, 2 * (pending + chunk.length)));
    next.set(this.buf.subarray(this.head, this.tail));
    next.set(chunk, pending);
    this.buf = next;
    this.head = 0;
    this.tail = pending + chunk.length;
    this.owned = true;
  }

  /** The next whole message, or undefined until it has arrived. */
  next(): ControlMessage | undefined {
    if (this.head === this.tail) return undefined;
    const r = new IetfReader(this.buf, this.draft, this.head, this.tail);
    let type: number;
    let len: number;
    try {
      type = r.varint();
      len = r.u16();
    } catch (e) {
      if (e instanceof ShortRead) return undefined;
      throw e;
    }
    if (len > this.maxMessage) throw new MoqError(Code.BoundsExceeded, `message of ${len} bytes exceeds the ${this.maxMessage}-byte limit`);
    if (r.remaining < len) return undefined;
    const body = new IetfReader(this.buf, this.draft, r.pos, r.pos + len);
    const raw = this.buf.subarray(this.head, r.pos + len);
    this.head = r.pos + len;
    if (this.head === this.tail) {
      this.buf = EMPTY;
      this.head = this.tail = 0;
    }
    return { type, body, raw };
  }

  /** A `Length (u16) · Body` without a type (SETUP after its stream type), or undefined. */
  body(): IetfReader | undefined {
    if (this.tail - this.head < 2) return undefined;
    const len = (this.buf[this.head] << 8) | this.buf[this.head + 1];
    if (len > this.maxMessage) throw new MoqError(Code.BoundsExceeded, `message of ${len} bytes exceeds the ${this.maxMessage}-byte limit`);
    const start = this.head + 2;
    if (this.tail - start < len) return undefined;
    const r = new IetfReader(this.buf, this.draft, start, start + len);
    this.head = start + len;
    if (this.head === this.tail) {
      this.buf = EMPTY;
      this.head = this.tail = 0;
    }
    return r;
  }

  /** A bare varint (a stream type), or undefined until complete. */
  varint(): number | undefined {
    if (this.head === this.tail) return undefined;
    const r = new IetfReader(this.buf, this.draft, this.head, this.tail);
    try {
      const v = r.varint();
      this.head = r.pos;
      return v;
    } catch (e) {
      if (e instanceof ShortRead) return undefined;
      throw e;
    }
  }

  /** Hand over every unconsumed byte (e.g. a data stream's rest after its type). */
  drain(): Uint8Array {
    const out = this.buf.subarray(this.head, this.tail);
    this.buf = EMPTY;
    this.head = this.tail = 0;
    return out;
  }

  /** FIN: a partial message left over is a decode error. */
  end(): void {
    if (this.head !== this.tail) throw new DecodeError(`stream ended inside a message (${this.pending} bytes left)`);
  }
}
