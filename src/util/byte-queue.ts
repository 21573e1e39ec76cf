// Bytes that arrive in chunks, consumed from the front without gluing every chunk onto the last:
// a parser peeks a few header bytes (varints) and takes a body once it is complete, so the cost is
// linear in the bytes received however the peer splits them (Buffer.concat per chunk is quadratic).

export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk, and the offset into it. */
  private first = 0;
  private offset = 0;
  /** Bytes queued. */
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
  }

  /** The byte `i` positions from the front (i < length). Cheap for the small i headers need. */
  byteAt(i: number): number {
    let k = this.first;
    let at = this.offset + i;
    while (at >= this.chunks[k].byteLength) {
      at -= this.chunks[k].byteLength;
      k++;
    }
    return this.chunks[k][at];
  }

  /**
   * A QUIC varint starting `at` bytes from the front, without consuming it, or undefined if it is
   * not complete yet. Values beyond 2^53 come back rounded: callers only compare them with caps
   * or use them as (unknown) type numbers.
   */
  peekVarint(at = 0): { value: number; size: number } | undefined {
    if (at >= this.length) return undefined;
    const b0 = this.byteAt(at);
    const size = 1 << (b0 >> 6);
    if (at + size > this.length) return undefined;
    let value = b0 & 0x3f;
    for (let i = 1; i < size; i++) value = value * 256 + this.byteAt(at + i);
    return { value, size };
  }

  /** Consume `n` bytes (n ≤ length) as one array: a view when they sit in one chunk, else one copy. */
  take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const head = this.chunks[this.first];
    if (head.byteLength - this.offset >= n) {
      const out = head.subarray(this.offset, this.offset + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first];
      const part = Math.min(n - filled, c.byteLength - this.offset);
      out.set(c.subarray(this.offset, this.offset + part), filled);
      filled += part;
      this.advance(part);
    }
    return out;
  }

  /** Consume up to `n` bytes from the first chunk only (never copies; may return fewer). */
  takeSome(n: number): Uint8Array {
    const head = this.chunks[this.first];
    const part = Math.min(n, head.byteLength - this.offset);
    const out = head.subarray(this.offset, this.offset + part);
    this.advance(part);
    return out;
  }

  /** Drop `n` bytes (n ≤ length) from the front. */
  skip(n: number): void {
    while (n > 0) {
      const c = this.chunks[this.first];
      const part = Math.min(n, c.byteLength - this.offset);
      this.advance(part);
      n -= part;
    }
  }

  /** Everything queued, in order (views, no copy), leaving the queue empty. */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.length > 0) out.push(this.takeSome(this.length));
    return out;
  }

  private advance(n: number): void {
    this.offset += n;
    this.length -= n;
    if (this.offset === this.chunks[this.first].byteLength) {
      this.first++;
      this.offset = 0;
      // Compact now and then instead of shift() per chunk (which is linear in the queue length).
      if (this.first === this.chunks.length) {
        this.chunks = [];
        this.first = 0;
      } else if (this.first >= 1024) {
        this.chunks = this.chunks.slice(this.first);
        this.first = 0;
      }
    }
  }
}
