// Our callback streams over WebTransport-shaped WHATWG streams: @moq/qmux's (QMux over
// WebSocket) and the optional fails-quiche engine's, one adapter with one behaviour for both.
// WHATWG streams only speak promises, so this edge pays one promise per chunk (its read() /
// write()); nothing above it does. Flow control is the library's: a receive stream we stop
// reading stops granting the peer credit.
//
// The behaviour, as the Session contract (session.ts) asks and test/transport/whatwg-streams.test.ts
// checks on both transports:
// - pause(): no onData until resume(); a chunk whose read was already under way is held and
//   delivered first on resume(), from a fresh stack.
// - write() returns false from HIGH_WATER queued bytes; onDrain fires once the queue is back
//   under half of it (hysteresis, as on QUIC streams).
// - reset(code) / stop(code) carry the code to the peer; onStop fires only for a stop the peer
//   (or the session's end) caused, never after our own reset.
import { detach } from "../util/async.js";
import type { RecvStream, SendStream } from "./session.js";

/** A WebTransport send stream: a WritableStream with a mutable `sendOrder` (higher first). */
export interface OrderedWritable extends WritableStream<Uint8Array> {
  sendOrder?: number;
}

/**
 * The reason a stream is aborted or cancelled with: libraries read the RESET_STREAM /
 * STOP_SENDING code from a WebTransportError's `streamErrorCode` field, whatever its class.
 */
export class StreamReset extends Error {
  readonly source = "stream";

  constructor(readonly streamErrorCode: number) {
    super(`stream reset: ${streamErrorCode}`);
    this.name = "WebTransportError";
  }
}

/** Bytes queued on a send stream beyond which write() asks the caller to wait for onDrain. */
export const HIGH_WATER = 256 * 1024;

function noop(): void {}

/** The application code a reset / stop / closed error carries; 0 when it carries none. */
export function codeOf(err: unknown): number {
  const c = (err as { streamErrorCode?: unknown } | null)?.streamErrorCode;
  return typeof c === "number" ? c : 0;
}

/** Lengths of writes handed to the library and not yet flushed, oldest first (writes complete in order). */
class Sizes {
  private items: number[] = [];
  private head = 0;

  push(n: number): void {
    this.items.push(n);
  }

  shift(): number {
    const n = this.items[this.head++] ?? 0;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const OPEN = 0;
const ENDING = 1;
const DONE = 2;

export class WhatwgSend implements SendStream {
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;
  writableLength = 0;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly sizes = new Sizes();
  private state = OPEN;
  private above = false;
  private order = 0;
  private resetByUs = false;

  constructor(
    readonly id: number,
    private readonly writable: OrderedWritable,
  ) {
    this.writer = writable.getWriter();
    this.writer.closed.then(
      () => {
        this.state = DONE;
      },
      (err: unknown) => this.died(codeOf(err)),
    );
  }

  get priority(): number {
    return this.order;
  }

  set priority(p: number) {
    this.order = p;
    // WebTransport sends the highest sendOrder first; our priority is the other way round.
    this.writable.sendOrder = -p;
  }

  write(chunk: Uint8Array): boolean {
    if (this.state !== OPEN) return false;
    if (chunk.byteLength === 0) return !this.above;
    this.writableLength += chunk.byteLength;
    this.sizes.push(chunk.byteLength);
    this.writer.write(chunk).then(this.written, noop);
    if (this.writableLength >= HIGH_WATER) this.above = true;
    return !this.above;
  }

  end(): void {
    if (this.state !== OPEN) return;
    this.state = ENDING;
    this.writer.close().catch(noop);
  }

  reset(code: number): void {
    if (this.state === DONE) return;
    this.state = DONE;
    this.resetByUs = true;
    this.dropQueue();
    this.writer.abort(new StreamReset(code)).catch(noop);
  }

  // Bound once: one closure for the stream's life instead of one per write.
  private readonly written = (): void => {
    this.writableLength -= this.sizes.shift();
    // Hysteresis, as on QUIC streams: wake the writer only once half the queue has gone.
    if (this.above && this.writableLength < HIGH_WATER / 2) {
      this.above = false;
      this.onDrain?.();
    }
  };

  /** STOP_SENDING from the peer, or the session closed. */
  private died(code: number): void {
    this.state = DONE;
    this.dropQueue();
    if (this.resetByUs) return;
    this.resetByUs = true;
    const cb = this.onStop;
    this.onStop = null;
    cb?.(code);
  }

  private dropQueue(): void {
    this.writableLength = 0;
    this.sizes.clear();
    this.above = false;
  }
}

export class WhatwgRecv implements RecvStream {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private paused = false;
  private reading = false;
  private finished = false;
  /** A chunk whose read completed after pause(); delivered first on resume(). */
  private held: Uint8Array | undefined;

  constructor(
    readonly id: number,
    readable: ReadableStream<Uint8Array>,
    /**
     * stop() reads the stream to its end and drops the data instead of cancelling it. For QMux:
     * @moq/qmux (0.3.x) returns no connection credit for bytes that arrive on a stream after it
     * sent STOP_SENDING, so every stopped stream shrank the connection's receive window by what
     * was in flight, and a publisher whose unwanted streams added up to the window (64 MiB by
     * default) stalled for good. Discarding costs bandwidth the peer was spending anyway, and no
     * memory.
     */
    private readonly discardOnStop = false,
  ) {
    this.reader = readable.getReader();
  }

  /** Begin delivering; the session calls this once the stream's owner has its handlers set. */
  start(): void {
    detach(this.pump(), () => this.stop(0));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    // Deliver from a fresh stack: resume() is often called from inside a drain callback.
    queueMicrotask(() => {
      if (this.paused || this.finished) return;
      const held = this.held;
      this.held = undefined;
      if (held !== undefined) this.onData?.(held);
      detach(this.pump(), () => this.stop(0));
    });
  }

  stop(code: number): void {
    if (this.finished) return;
    this.finished = true;
    this.held = undefined;
    if (this.discardOnStop) detach(this.discard(), noop);
    else this.reader.cancel(new StreamReset(code)).catch(noop);
  }

  /** Read to the end (FIN or reset) and drop everything (see discardOnStop). */
  private async discard(): Promise<void> {
    for (let r = await this.reader.read(); !r.done; r = await this.reader.read());
  }

  private async pump(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (!this.paused && !this.finished) {
        const r = await this.reader.read();
        if (this.finished) return;
        if (r.done) {
          this.finished = true;
          this.onEnd?.();
          return;
        }
        if (this.paused) {
          this.held = r.value;
          return;
        }
        this.onData?.(r.value);
      }
    } catch (err) {
      if (!this.finished) {
        this.finished = true;
        this.onReset?.(codeOf(err));
      }
    } finally {
      this.reading = false;
    }
  }
}
