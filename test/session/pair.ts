// Two connected in-process Sessions (src/transport/session.ts), faithful to what a transport
// promises: stream ids by QUIC numbering, a peer learns of a stream with its first bytes and only
// gets data after its onBidi/onUni callback returned, FIN / RESET_STREAM / STOP_SENDING, writes
// report backpressure past a high-water mark and onDrain fires when the queue falls back under
// it, pause() holds data on the sender's side, and closing the session kills every stream.
// Delivery is asynchronous (setImmediate) and may split chunks, like a network. A link can be
// stalled to play a viewer on a congested path.
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session, TransportKind } from "../../src/transport/session.js";

export interface PairOptions {
  /** Negotiated protocol on both ends ("" = none: legacy in-band SETUP). */
  protocol?: string;
  transport?: TransportKind;
  /** URL the client dialed (the server end's `url`). */
  url?: string;
  /** Per-stream high-water mark (bytes). */
  highWaterMark?: number;
  /** Split delivered chunks to at most this many bytes (0 = as written). */
  maxChunk?: number;
  /** Largest datagram; 0 = no datagrams. */
  maxDatagram?: number;
  /**
   * Uni streams the client lets the server have open at once (QUIC initial_max_streams_uni): a
   * server openUni() waits while that many of its streams are unfinished. Default unlimited.
   * A stream is finished when its FIN or reset reached the client, or the client stopped it.
   */
  clientUniCredit?: number;
}

class Link {
  readonly queue: Uint8Array[] = [];
  queued = 0;
  fin = false;
  finDelivered = false;
  resetCode: number | undefined;
  resetDelivered = false;
  stopped = false;
  announced = false;
  dead = false;
  /** Counts against the opener's uni-stream credit until finished. */
  holdsCredit = false;
  readonly send: MemSend;
  readonly recv: MemRecv;

  constructor(
    readonly id: number,
    /** The session that writes. */
    readonly from: MemSession,
  ) {
    this.send = new MemSend(this);
    this.recv = new MemRecv(this);
  }
}

class MemSend implements SendStream {
  priority = 0;
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;
  stopNotified = false;

  constructor(private readonly link: Link) {}

  get id(): number {
    return this.link.id;
  }

  get writableLength(): number {
    return this.link.queued;
  }

  write(chunk: Uint8Array): boolean {
    const l = this.link;
    if (l.dead || l.fin || l.resetCode !== undefined || l.stopped) return true;
    l.queue.push(chunk);
    l.queued += chunk.byteLength;
    l.from.schedule(l);
    return l.queued <= l.from.hwm;
  }

  end(): void {
    const l = this.link;
    if (l.dead || l.fin || l.resetCode !== undefined) return;
    l.fin = true;
    l.from.schedule(l);
  }

  reset(code: number): void {
    const l = this.link;
    if (l.dead || l.resetCode !== undefined || (l.fin && l.finDelivered)) return;
    l.resetCode = code;
    l.queue.length = 0;
    l.queued = 0;
    l.from.schedule(l);
  }
}

class MemRecv implements RecvStream {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  paused = false;

  constructor(private readonly link: Link) {}

  get id(): number {
    return this.link.id;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.link.from.schedule(this.link);
  }

  stop(code: number): void {
    const l = this.link;
    if (l.stopped || l.dead) return;
    l.stopped = true;
    l.queue.length = 0;
    l.queued = 0;
    l.from.releaseCredit(l);
    setImmediate(() => {
      if (l.send.stopNotified || l.dead) return;
      l.send.stopNotified = true;
      l.send.onStop?.(code);
    });
  }
}

export class MemSession implements Session {
  readonly transport: TransportKind;
  readonly protocol: string;
  url: URL;
  readonly remote: string;
  readonly maxDatagramSize: number;
  onBidi: ((stream: BidiStream) => void) | null = null;
  onUni: ((stream: RecvStream) => void) | null = null;
  onDatagram: ((data: Uint8Array) => void) | null = null;
  readonly closed: Promise<CloseInfo>;
  peer!: MemSession;
  readonly hwm: number;
  /** Data from this side is held (a congested path toward the peer). */
  stalled = false;
  private resolveClosed!: (i: CloseInfo) => void;
  private closeInfo: CloseInfo | undefined;
  private nextBidi: number;
  private nextUni: number;
  private readonly links = new Set<Link>();
  /** For a bidi link: the reverse link (our read side of the same stream). */
  readonly partner = new Map<Link, Link>();
  private readonly pending = new Set<Link>();
  private scheduled = false;
  /** Uni streams of ours holding the peer's credit, and openUni() calls waiting for credit. */
  private uniOpen = 0;
  private readonly uniWaiters: Array<{ resolve(s: SendStream): void; reject(e: Error): void }> = [];

  constructor(
    readonly isClient: boolean,
    private readonly opts: PairOptions,
  ) {
    this.transport = opts.transport ?? "websocket";
    this.protocol = opts.protocol ?? "moq-lite-05";
    this.url = new URL(opts.url ?? "https://relay.test/anon");
    this.remote = isClient ? "127.0.0.1:4443" : "127.0.0.1:50000";
    this.maxDatagramSize = opts.maxDatagram ?? 1200;
    this.hwm = opts.highWaterMark ?? 64 * 1024;
    this.nextBidi = isClient ? 0 : 1;
    this.nextUni = isClient ? 2 : 3;
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  openBidi(): Promise<BidiStream> {
    if (this.closeInfo !== undefined) return Promise.reject(new Error("session closed"));
    const id = this.nextBidi;
    this.nextBidi += 4;
    const out = new Link(id, this);
    const back = new Link(id, this.peer);
    // The peer learns of the stream from our first bytes, not from its own replies.
    back.announced = true;
    this.partner.set(out, back);
    this.peer.partner.set(back, out);
    for (const l of [out, back]) {
      this.links.add(l);
      this.peer.links.add(l);
    }
    return Promise.resolve({ id, send: out.send, recv: back.recv });
  }

  /** openUni() calls waiting for stream credit (a viewer withholding it). */
  get uniWaiting(): number {
    return this.uniWaiters.length;
  }

  /** Uni streams opened by this side and not finished. */
  get uniInUse(): number {
    return this.uniOpen;
  }

  openUni(): Promise<SendStream> {
    if (this.closeInfo !== undefined) return Promise.reject(new Error("session closed"));
    const credit = this.isClient ? undefined : this.opts.clientUniCredit;
    if (credit !== undefined && this.uniOpen >= credit) {
      return new Promise((resolve, reject) => this.uniWaiters.push({ resolve, reject }));
    }
    return Promise.resolve(this.newUni());
  }

  /** @internal a uni stream of ours finished: its credit returns to the next waiter. */
  releaseCredit(l: Link): void {
    if (!l.holdsCredit) return;
    l.holdsCredit = false;
    this.uniOpen--;
    const w = this.uniWaiters.shift();
    if (w !== undefined && this.closeInfo === undefined) w.resolve(this.newUni());
  }

  private newUni(): SendStream {
    const id = this.nextUni;
    this.nextUni += 4;
    const out = new Link(id, this);
    out.holdsCredit = true;
    this.uniOpen++;
    this.links.add(out);
    this.peer.links.add(out);
    return out.send;
  }

  sendDatagram(data: Uint8Array): boolean {
    if (this.closeInfo !== undefined || data.byteLength > this.maxDatagramSize) return false;
    const copy = data.slice();
    setImmediate(() => {
      if (!this.peer.isClosed) this.peer.onDatagram?.(copy);
    });
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.shutdown({ code, reason, remote: false });
    this.peer.shutdown({ code, reason, remote: true });
  }

  /** Hold (or release) everything this side sends. */
  stall(on: boolean): void {
    this.stalled = on;
    if (!on) for (const l of this.links) if (l.from === this) this.schedule(l);
  }

  /** @internal */
  schedule(l: Link): void {
    this.pending.add(l);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.stalled) return;
    const links = [...this.pending];
    this.pending.clear();
    for (const l of links) this.deliver(l);
  }

  private deliver(l: Link): void {
    if (l.dead || this.closeInfo !== undefined) return;
    const peer = this.peer;
    if (!l.announced) {
      l.announced = true;
      const back = this.partner.get(l);
      if (back !== undefined) peer.onBidi?.({ id: l.id, send: back.send, recv: l.recv });
      else peer.onUni?.(l.recv);
    }
    if (l.resetCode !== undefined) {
      if (!l.resetDelivered) {
        l.resetDelivered = true;
        this.releaseCredit(l);
        if (!l.stopped) l.recv.onReset?.(l.resetCode);
      }
      return;
    }
    const before = l.queued;
    const max = this.opts.maxChunk ?? 0;
    while (l.queue.length > 0 && !l.recv.paused && !l.stopped && !l.dead) {
      let chunk = l.queue.shift() as Uint8Array;
      if (max > 0 && chunk.byteLength > max) {
        l.queue.unshift(chunk.subarray(max));
        chunk = chunk.subarray(0, max);
      }
      l.queued -= chunk.byteLength;
      // The receiver owns what it is given: hand over a copy, as a network would.
      l.recv.onData?.(chunk.slice());
    }
    if (l.queue.length === 0 && l.fin && !l.finDelivered && !l.stopped) {
      l.finDelivered = true;
      this.releaseCredit(l);
      l.recv.onEnd?.();
    }
    if (before > this.hwm && l.queued <= this.hwm) l.send.onDrain?.();
  }

  private shutdown(info: CloseInfo): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = info;
    const links = [...this.links];
    for (const l of links) l.dead = true;
    for (const w of this.uniWaiters.splice(0)) w.reject(new Error("session closed"));
    this.resolveClosed(info);
    setImmediate(() => {
      for (const l of links) {
        const code = info.code;
        // Our read sides (links the peer writes) and our write sides (links we write) all die.
        if (l.from === this) {
          if (!l.send.stopNotified) {
            l.send.stopNotified = true;
            l.send.onStop?.(code);
          }
        } else if (!l.finDelivered && !l.resetDelivered) {
          l.resetDelivered = true;
          l.recv.onReset?.(code);
        }
      }
    });
  }
}

/** A connected client/server pair. */
export function sessionPair(opts: PairOptions = {}): { client: MemSession; server: MemSession } {
  const client = new MemSession(true, opts);
  const server = new MemSession(false, opts);
  client.peer = server;
  server.peer = client;
  return { client, server };
}
