// The send-half bookkeeping shared by the transports whose sessions pull data at their own flush
// (QUIC via quiche, and the MessagePort/IPC link): chunks are queued by reference, write()
// reports backpressure from a high-water mark, and onDrain fires once the queue is under half of
// it, so a writer neither stalls on every chunk nor queues without bound.

/** write() reports backpressure from this many queued bytes; onDrain fires under half of it. */
export const HIGH_WATER = 256 * 1024;

export abstract class QueuedSend {
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;
  writableLength = 0;
  /** Chunks not yet taken by the session; the head may be partly taken (see `offset`). */
  queue: Uint8Array[] = [];
  offset = 0;
  fin = false;
  dead = false;
  private above = false;

  /** write()'s answer: false from the high-water mark until onDrain. */
  protected get ready(): boolean {
    return !this.above;
  }

  /** Queue a non-empty chunk; false once the queue is at or above the high-water mark. */
  protected enqueue(chunk: Uint8Array): boolean {
    this.queue.push(chunk);
    this.writableLength += chunk.byteLength;
    if (this.writableLength >= HIGH_WATER) this.above = true;
    return !this.above;
  }

  /** The session took `n` queued bytes. */
  protected took(n: number): void {
    this.writableLength -= n;
    if (this.above && this.writableLength < HIGH_WATER / 2) {
      this.above = false;
      this.onDrain?.();
    }
  }

  /** Drop everything queued (a reset, or the peer stopped reading). */
  protected clear(): void {
    this.queue = [];
    this.writableLength = 0;
  }

  /** The peer sent STOP_SENDING, or the session died: drop the queue and tell the writer once. */
  stopped(code: number): void {
    if (this.dead) return;
    this.dead = true;
    this.clear();
    const cb = this.onStop;
    this.onStop = null;
    this.whenStopped();
    cb?.(code);
  }

  /** A subclass's own bookkeeping on stop, before the writer hears of it. */
  protected whenStopped(): void {}
}
