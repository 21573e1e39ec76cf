// Incremental reader for control streams. The transport hands over chunks; the session pulls
// whole messages out synchronously, with no promise per chunk:
//
//   const framer = new Framer(limits.max_message_size);
//   stream.recv.onData = (chunk) => {
//     framer.push(chunk);
//     for (let m; (m = framer.next((r) => Announce.decode(r, v))) !== undefined; ) handle(m);
//   };
//   stream.recv.onEnd = () => framer.end(); // throws if a message was cut off
//
// `next` peeks the message length first, so an oversized message is refused (BoundsExceeded)
// as soon as its length arrives, and a decoder runs only once its whole message is buffered.
// Errors: MoqError(BoundsExceeded) for a message over the limit, DecodeError for malformed bytes
// (short or trailing bytes inside a body, bad UTF-8, ...). Either one is fatal to the stream.
//
// Buffering: while nothing is pending, a chunk is parsed in place (decoded views point into the
// transport's chunk). Leftover bytes are copied into a buffer this class owns, which grows by
// doubling; bytes already handed out are never overwritten.
import { DecodeError, Reader, ShortRead } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";

/** Header bytes tolerated beyond the body limit: a type and a length varint. */
const HEADER_SLACK = 16;
const EMPTY = new Uint8Array(0);

export class Framer {
  private buf: Uint8Array = EMPTY;
  private head = 0;
  private tail = 0;
  /** True when `buf` is ours to append into (not a transport chunk). */
  private owned = false;
  /** Reused for every decode: messages are read one at a time. */
  private readonly r = new Reader(EMPTY);

  /** @param maxMessage largest message body accepted, in bytes */
  constructor(readonly maxMessage: number) {}

  /** Bytes received but not consumed yet. */
  get pending(): number {
    return this.tail - this.head;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.head === this.tail) {
      this.buf = chunk;
      this.head = 0;
      this.tail = chunk.length;
      this.owned = false;
      return;
    }
    const pending = this.tail - this.head;
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

  /**
   * The next length-prefixed message, decoded by `decode` (which reads the whole message,
   * length included, e.g. `(r) => Subscribe.decode(r, v)`), or undefined until it is complete.
   * `typed`: a `Type (i)` precedes the length (lite-03+ subscribe responses).
   */
  next<T>(decode: (r: Reader) => T, typed = false): T | undefined {
    if (this.head === this.tail) return undefined;
    const r = this.reset();
    let stop: number;
    try {
      if (typed) r.varint();
      const len = r.varint();
      if (len > this.maxMessage) throw new MoqError(Code.BoundsExceeded, `message of ${len} bytes exceeds the ${this.maxMessage}-byte limit`);
      stop = r.pos + len;
    } catch (e) {
      if (e instanceof ShortRead) return undefined;
      throw e;
    }
    if (stop > this.tail) return undefined;
    r.pos = this.head;
    r.end = stop;
    let msg: T;
    try {
      msg = decode(r);
    } catch (e) {
      if (e instanceof ShortRead) throw new DecodeError("message shorter than its fields");
      throw e;
    }
    if (r.pos !== stop) throw new DecodeError(`${stop - r.pos} trailing bytes in message`);
    this.consume(stop);
    return msg;
  }

  /** The next bare varint (a stream type), or undefined until it is complete. */
  varint(): number | undefined {
    if (this.head === this.tail) return undefined;
    const r = this.reset();
    try {
      const v = r.varint();
      this.consume(r.pos);
      return v;
    } catch (e) {
      if (e instanceof ShortRead) return undefined;
      throw e;
    }
  }

  /**
   * Run a raw decoder with its own framing (the legacy u16-length SETUP). Consumes what it read,
   * or nothing when it needs more bytes; more than the limit buffered without success is
   * BoundsExceeded.
   */
  take<T>(decode: (r: Reader) => T): T | undefined {
    if (this.head === this.tail) return undefined;
    const r = this.reset();
    try {
      const v = decode(r);
      this.consume(r.pos);
      return v;
    } catch (e) {
      if (!(e instanceof ShortRead)) throw e;
      if (this.pending > this.maxMessage + HEADER_SLACK) throw new MoqError(Code.BoundsExceeded, `more than ${this.maxMessage} bytes without a complete message`);
      return undefined;
    }
  }

  /** Hand over everything unconsumed (e.g. the rest of a group stream after its type). */
  drain(): Uint8Array {
    const out = this.buf.subarray(this.head, this.tail);
    this.head = this.tail = 0;
    this.buf = EMPTY;
    this.owned = false;
    return out;
  }

  /** The stream finished (FIN): a partial message left over is a decode error. */
  end(): void {
    if (this.head !== this.tail) throw new DecodeError(`stream ended inside a message (${this.pending} bytes left)`);
  }

  private reset(): Reader {
    const r = this.r;
    r.buf = this.buf;
    r.pos = this.head;
    r.end = this.tail;
    return r;
  }

  private consume(to: number): void {
    this.head = to;
    if (to === this.tail) {
      // Nothing pending: drop the buffer (views handed out keep their own reference) so the next
      // chunk is parsed in place again.
      this.buf = EMPTY;
      this.head = this.tail = 0;
      this.owned = false;
    }
  }
}
