// One payload of a declared length, assembled from stream chunks: shared by the moq-lite group
// parser and the IETF object parser. A payload that fits in its chunk is a view into it (no copy).
// One that spans chunks is copied once, into a buffer that grows with the bytes that actually
// arrive (16 KiB doubling up to the declared length). It is never allocated at the declared length
// up front: a peer declaring 16 MiB frames on many streams, one byte on each, must not make the
// relay allocate 16 MiB per stream.

/** First buffer for a payload that spans chunks. */
const INITIAL = 16 * 1024;

export class PayloadAssembler {
  private partial: Uint8Array | undefined;
  private filled = 0;
  /** Set by take() when a payload completed; the caller reads and clears it. */
  complete: Uint8Array | undefined;

  /** Consume bytes of chunk from pos toward a payload of `len` bytes; returns the new position. */
  take(chunk: Uint8Array, pos: number, len: number): number {
    const avail = chunk.length - pos;
    if (this.partial === undefined) {
      if (avail >= len) {
        const end = pos + len;
        this.complete = chunk.subarray(pos, end);
        return end;
      }
      this.partial = new Uint8Array(Math.min(len, Math.max(INITIAL, avail)));
      this.partial.set(chunk.subarray(pos));
      this.filled = avail;
      return chunk.length;
    }
    const n = Math.min(len - this.filled, avail);
    if (this.filled + n > this.partial.length) {
      const grown = new Uint8Array(Math.min(len, Math.max(this.filled + n, this.partial.length * 2)));
      grown.set(this.partial.subarray(0, this.filled));
      this.partial = grown;
    }
    this.partial.set(chunk.subarray(pos, pos + n), this.filled);
    this.filled += n;
    if (this.filled === len) {
      this.complete = this.partial;
      this.partial = undefined;
    }
    return pos + n;
  }
}
