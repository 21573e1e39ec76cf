// QUIC streams over the native connection. Writes are queued and handed to quiche when the
// connection flushes (once per event-loop turn); reads are pulled from quiche when it reports the
// stream readable. No promise per chunk: everything is a plain callback.
import { QueuedSend } from "../queued-send.js";
import type { RecvStream, SendStream } from "../session.js";

/** What a stream needs from its connection. */
export interface StreamHost {
  /** Ask for a flush this turn. */
  schedule(): void;
  /** A paused stream resumed: read again (and flush) this turn. */
  resumed(): void;
  markPending(s: QuicSendHalf): void;
  /** A stream's rank changed: its quiche urgency (and maybe others') must be recomputed. */
  reranked(s: QuicSendHalf): void;
  shutdown(id: number, direction: "read" | "write", code: number): void;
}

export class QuicSendHalf extends QueuedSend implements SendStream {
  private rank = 0;
  /**
   * quiche urgency (0 = first .. 255), assigned by the connection from the ranks of its live
   * streams; `applied` is what quiche was last told (-1: nothing yet, it only knows a stream once
   * written, and defaults to 127).
   */
  urgency = 0;
  applied = -1;
  /** quiche has seen this stream (a write, or a reset that created it). */
  known = false;
  finSent = false;
  /** quiche took less than offered on the last try (no flow-control or congestion credit). */
  refused = false;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
  ) {
    super();
  }

  get priority(): number {
    return this.rank;
  }

  /**
   * Any non-negative number up to 2^53 (group ranks reach ~2^52): lower goes first. 0 is for
   * control streams, which precede all data.
   */
  set priority(p: number) {
    if (p === this.rank) return;
    this.rank = p;
    this.host.reranked(this);
  }

  write(chunk: Uint8Array): boolean {
    if (this.dead || this.fin) return false;
    if (chunk.byteLength === 0) return this.ready;
    const ok = this.enqueue(chunk);
    this.host.markPending(this);
    return ok;
  }

  end(): void {
    if (this.dead || this.fin) return;
    this.fin = true;
    this.host.markPending(this);
  }

  reset(code: number): void {
    if (this.dead) return;
    this.dead = true;
    this.clear();
    this.host.shutdown(this.id, "write", code);
  }

  /** quiche took `n` bytes of the head chunk. */
  consumed(n: number): void {
    this.took(n);
  }
}

export class QuicRecvHalf implements RecvStream {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  paused = false;
  done = false;

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
  ) {}

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.host.resumed();
  }

  stop(code: number): void {
    if (this.done) return;
    this.done = true;
    this.host.shutdown(this.id, "read", code);
  }

  finished(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd?.();
  }

  resetBy(code: number): void {
    if (this.done) return;
    this.done = true;
    this.onReset?.(code);
  }
}
