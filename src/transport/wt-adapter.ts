// Adapts a WebTransport-shaped object (WHATWG streams: @moq/qmux sessions over WebSocket, and the
// optional fails-quiche engine) to our callback-based Session. The promise-per-chunk cost of
// WHATWG streams is paid once here, at the edge, so the MoQ layer above stays callback driven.
import { detach } from "../util/async.js";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session, TransportKind } from "./session.js";

/** The parts of the W3C WebTransport API we use (Node has no DOM lib types). */
export interface WtLike {
  readonly ready: Promise<void>;
  readonly closed: Promise<{ closeCode?: number; reason?: string }>;
  readonly incomingBidirectionalStreams: ReadableStream<WtBidi>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  readonly datagrams?: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array>; readonly maxDatagramSize?: number };
  createBidirectionalStream(opts?: { sendOrder?: number }): Promise<WtBidi>;
  createUnidirectionalStream(opts?: { sendOrder?: number }): Promise<WritableStream<Uint8Array>>;
  close(info?: { closeCode?: number; reason?: string }): void;
}

export interface WtBidi {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

/** Makes the error a stream is reset with; each library has its own WebTransportError class. */
export type ResetReason = (code: number) => unknown;

const HIGH_WATER = 256 * 1024;

function codeOf(e: unknown): number {
  const c = (e as { streamErrorCode?: unknown } | null)?.streamErrorCode;
  return typeof c === "number" ? c : 0;
}

class WtSend implements SendStream {
  private order = 0;
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;
  writableLength = 0;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private dead = false;

  constructor(
    readonly id: number,
    private readonly stream: WritableStream<Uint8Array>,
    private readonly reason: ResetReason,
  ) {
    this.writer = stream.getWriter();
    this.writer.closed.catch((e: unknown) => this.stopped(codeOf(e)));
  }

  get priority(): number {
    return this.order;
  }

  /** W3C sendOrder: higher is sent first, the opposite of our rank (lower first). */
  set priority(p: number) {
    this.order = p;
    (this.stream as { sendOrder?: number }).sendOrder = -p;
  }

  write(chunk: Uint8Array): boolean {
    if (this.dead) return false;
    this.writableLength += chunk.byteLength;
    this.writer.write(chunk).then(
      () => {
        const before = this.writableLength;
        this.writableLength -= chunk.byteLength;
        if (before >= HIGH_WATER && this.writableLength < HIGH_WATER) this.onDrain?.();
      },
      (e: unknown) => this.stopped(codeOf(e)),
    );
    return this.writableLength < HIGH_WATER;
  }

  end(): void {
    if (this.dead) return;
    this.dead = true;
    this.writer.close().catch(() => undefined);
  }

  reset(code: number): void {
    if (this.dead) return;
    this.dead = true;
    this.writableLength = 0;
    this.writer.abort(this.reason(code)).catch(() => undefined);
  }

  private stopped(code: number): void {
    if (this.dead && this.onStop === null) return;
    const wasDead = this.dead;
    this.dead = true;
    if (!wasDead || code !== 0) {
      const cb = this.onStop;
      this.onStop = null;
      cb?.(code);
    }
  }
}

class WtRecv implements RecvStream {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private paused = false;
  private pumping = false;
  private done = false;

  constructor(
    readonly id: number,
    stream: ReadableStream<Uint8Array>,
    private readonly reason: ResetReason,
  ) {
    this.reader = stream.getReader();
    // Start after the caller has attached its handlers in the same turn.
    queueMicrotask(() => detach(this.pump(), () => this.stop(0)));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    detach(this.pump(), () => this.stop(0));
  }

  stop(code: number): void {
    if (this.done) return;
    this.done = true;
    this.reader.cancel(this.reason(code)).catch(() => undefined);
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.paused && !this.done) {
        const { value, done } = await this.reader.read();
        if (done) {
          this.done = true;
          this.onEnd?.();
          return;
        }
        this.onData?.(value);
      }
    } catch (e) {
      if (!this.done) {
        this.done = true;
        this.onReset?.(codeOf(e));
      }
    } finally {
      this.pumping = false;
    }
  }
}

export interface AdapterInfo {
  transport: TransportKind;
  protocol: string;
  url: URL;
  remote: string;
  resetReason: ResetReason;
}

export class WtSession implements Session {
  readonly transport: TransportKind;
  readonly protocol: string;
  url: URL;
  readonly remote: string;
  onBidi: ((stream: BidiStream) => void) | null = null;
  onUni: ((stream: RecvStream) => void) | null = null;
  onDatagram: ((data: Uint8Array) => void) | null = null;
  readonly closed: Promise<CloseInfo>;
  private nextId = 0;
  private closing: CloseInfo | undefined;
  private readonly dgramWriter: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(
    private readonly wt: WtLike,
    private readonly info: AdapterInfo,
  ) {
    this.transport = info.transport;
    this.protocol = info.protocol;
    this.url = info.url;
    this.remote = info.remote;
    this.dgramWriter = wt.datagrams?.writable.getWriter();
    this.closed = wt.closed.then(
      (i) => this.closing ?? { code: i.closeCode ?? 0, reason: i.reason ?? "", remote: true },
      (e: unknown) => this.closing ?? { code: 1, reason: e instanceof Error ? e.message : String(e), remote: true },
    );
    // Deliver after the creator has assigned handlers in the same turn (the Session contract).
    queueMicrotask(() => this.start());
  }

  get maxDatagramSize(): number {
    return this.wt.datagrams?.maxDatagramSize ?? 0;
  }

  private started = false;

  /** Begin delivering incoming streams and datagrams. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    const fail = (err: unknown): void => this.close(0, `stream intake failed: ${err instanceof Error ? err.message : String(err)}`);
    detach(this.accept(this.wt.incomingBidirectionalStreams, (s) => {
      const id = this.nextId++;
      this.onBidi?.({ id, send: new WtSend(id, s.writable, this.info.resetReason), recv: new WtRecv(id, s.readable, this.info.resetReason) });
    }), fail);
    detach(this.accept(this.wt.incomingUnidirectionalStreams, (s) => {
      const id = this.nextId++;
      this.onUni?.(new WtRecv(id, s, this.info.resetReason));
    }), fail);
    if (this.wt.datagrams !== undefined) detach(this.accept(this.wt.datagrams.readable, (d) => this.onDatagram?.(d)), fail);
  }

  private async accept<T>(stream: ReadableStream<T>, each: (v: T) => void): Promise<void> {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        each(value);
      }
    } catch {
      // The session closed; `closed` reports why.
    }
  }

  async openBidi(): Promise<BidiStream> {
    const s = await this.wt.createBidirectionalStream();
    const id = this.nextId++;
    return { id, send: new WtSend(id, s.writable, this.info.resetReason), recv: new WtRecv(id, s.readable, this.info.resetReason) };
  }

  async openUni(): Promise<SendStream> {
    const s = await this.wt.createUnidirectionalStream();
    return new WtSend(this.nextId++, s, this.info.resetReason);
  }

  sendDatagram(data: Uint8Array): boolean {
    if (this.dgramWriter === undefined || data.byteLength > this.maxDatagramSize) return false;
    this.dgramWriter.write(data).catch(() => undefined);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closing !== undefined) return;
    this.closing = { code, reason, remote: false };
    try {
      this.wt.close({ closeCode: code, reason });
    } catch {
      // Already closed.
    }
  }
}
