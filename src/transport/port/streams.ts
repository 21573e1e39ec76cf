// The two halves of a stream carried over a MessagePort (see session.ts). The send half queues
// chunks by reference and hands them to the session's next flush while the peer's credit lasts;
// the receive half delivers in order, and while paused holds what already arrived (at most one
// credit window) and returns no credit, so the sender stops.
import { QueuedSend } from "../queued-send.js";
import type { RecvStream, SendStream } from "../session.js";

/** What a stream half needs from its session. */
export interface PortHost {
  /** The send half has data, a FIN or a reset to post. */
  markPending(s: PortSend): void;
  /** The receive half delivered `n` bytes: the peer may send that many more. */
  credit(id: number, n: number): void;
  /** STOP_SENDING toward the peer. */
  stop(id: number, code: number): void;
  /** Run `fn` after the current callback returned (a resume delivers outside the caller). */
  later(fn: () => void): void;
  /** One half of the stream is done; the session forgets the stream once both are. */
  halfDone(id: number): void;
}

export class PortSend extends QueuedSend implements SendStream {
  priority = 0;
  /** Bytes the peer still accepts (its receive window minus what is in flight). */
  window: number;
  finPosted = false;
  resetCode: number | undefined;
  resetPosted = false;

  constructor(
    readonly id: number,
    private readonly host: PortHost,
    window: number,
  ) {
    super();
    this.window = window;
  }

  write(chunk: Uint8Array): boolean {
    if (this.dead || this.fin || this.resetCode !== undefined) return false;
    if (chunk.byteLength === 0) return this.ready;
    const ok = this.enqueue(chunk);
    this.host.markPending(this);
    return ok;
  }

  end(): void {
    if (this.dead || this.fin || this.resetCode !== undefined) return;
    this.fin = true;
    this.host.markPending(this);
  }

  reset(code: number): void {
    if (this.dead || this.resetCode !== undefined || this.finPosted) return;
    this.resetCode = code;
    this.clear();
    this.host.markPending(this);
  }

  /** The session posted `n` bytes of the queue. */
  posted(n: number): void {
    this.window -= n;
    this.took(n);
  }

  /** The peer read `n` more bytes. */
  credited(n: number): void {
    this.window += n;
    if (this.queue.length > 0) this.host.markPending(this);
  }

  protected override whenStopped(): void {
    this.host.halfDone(this.id);
  }

  /** FIN or reset went out: nothing more to send. */
  finished(): void {
    if (this.dead) return;
    this.dead = true;
    this.host.halfDone(this.id);
  }
}

export class PortRecv implements RecvStream {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  private paused = false;
  private held: Uint8Array[] = [];
  private finHeld = false;
  private done = false;

  constructor(
    readonly id: number,
    private readonly host: PortHost,
  ) {}

  /** Bytes for this stream arrived (owned by us: views into a transferred buffer). */
  data(chunk: Uint8Array): void {
    if (this.done) return;
    if (this.paused || this.held.length > 0) {
      this.held.push(chunk);
      return;
    }
    this.host.credit(this.id, chunk.byteLength);
    this.onData?.(chunk);
  }

  fin(): void {
    if (this.done) return;
    if (this.paused || this.held.length > 0) {
      this.finHeld = true;
      return;
    }
    this.end();
  }

  /** RESET_STREAM from the peer, or the session died. */
  reset(code: number): void {
    if (this.done) return;
    this.finish();
    this.onReset?.(code);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.host.later(() => this.drainHeld());
  }

  stop(code: number): void {
    if (this.done) return;
    this.finish();
    this.host.stop(this.id, code);
  }

  private drainHeld(): void {
    while (!this.paused && !this.done && this.held.length > 0) {
      const chunk = this.held.shift() as Uint8Array;
      this.host.credit(this.id, chunk.byteLength);
      this.onData?.(chunk);
    }
    if (!this.paused && !this.done && this.held.length === 0 && this.finHeld) this.end();
  }

  private end(): void {
    this.finish();
    this.onEnd?.();
  }

  private finish(): void {
    this.done = true;
    this.held = [];
    this.host.halfDone(this.id);
  }
}
