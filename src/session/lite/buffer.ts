// Incremental input for stream parsers: chunks are appended, a parser tries to decode from the
// unconsumed bytes, and on ShortRead simply waits for the next chunk. When a chunk arrives with
// nothing pending, parsing runs directly on it, so decoded payloads are views of the transport's
// chunk (no copy); only a message that spans chunks is stitched together.
import { Reader, ShortRead } from "../../util/bytes.js";

export class ChunkBuffer {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Uint8Array): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      const rest = this.buf.length - this.pos;
      if (rest + chunk.length > this.limit) throw new RangeError(`more than ${this.limit} bytes buffered without a complete message`);
      const next = new Uint8Array(rest + chunk.length);
      next.set(this.buf.subarray(this.pos));
      next.set(chunk, rest);
      this.buf = next;
    }
    this.pos = 0;
  }

  get pending(): number {
    return this.buf.length - this.pos;
  }

  /**
   * Run `fn` on the unconsumed bytes. Returns its result and consumes what it read, or returns
   * undefined (consuming nothing) if it needs more bytes.
   */
  take<T>(fn: (r: Reader) => T): T | undefined {
    if (this.pos >= this.buf.length) return undefined;
    const r = new Reader(this.buf, this.pos);
    try {
      const v = fn(r);
      this.pos = r.pos;
      return v;
    } catch (e) {
      if (e instanceof ShortRead) return undefined;
      throw e;
    }
  }
}
