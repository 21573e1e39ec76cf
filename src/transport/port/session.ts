// A Session (src/transport/session.ts) over a message channel between two JavaScript contexts: a
// MessagePort, or a child process's IPC channel (src/workers/ipc.ts). Streams are numbered as in QUIC (bit 0: who opened it, bit 1: uni),
// a peer learns of a stream from its first operation, and every operation of one event-loop turn
// goes out as one message: a Float64Array of 4-number operations plus one ArrayBuffer holding the
// turn's payload bytes. The chunks written may be shared with other viewers, so they are copied
// once into that buffer; a MessagePort then transfers it (no further copy), an IPC channel
// serializes it; the receiver hands out views of what arrived. Flow control is per stream: the sender posts at most a window of unread bytes, the
// receiver returns credit as it delivers, and a paused receiver returns none.
import type { MessagePort } from "node:worker_threads";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../session.js";
import { PortRecv, PortSend, type PortHost } from "./streams.js";

/** Unread bytes a stream may have in flight toward the receiver. */
export const STREAM_WINDOW = 1024 * 1024;

const enum Op {
  Data = 0,
  Fin = 1,
  Reset = 2,
  Stop = 3,
  Credit = 4,
  Datagram = 5,
}

/** One message on the port. */
export interface Wire {
  /** Operations, 4 numbers each: kind, stream id, a, b (data: offset and length in `buf`). */
  ops?: Float64Array;
  buf?: ArrayBuffer;
  close?: { code: number; reason: string };
}

/** What the session needs of a channel; `fromMessagePort` adapts a MessagePort. */
export interface PortLike {
  /** Send `m`; `transfer` lists buffers the receiver may take over (a channel may copy them instead). */
  postMessage(m: Wire, transfer: ArrayBuffer[]): void;
  onMessage(fn: (m: Wire) => void): void;
  /** The other end is gone. */
  onClose(fn: () => void): void;
  close(): void;
}

export function fromMessagePort(port: MessagePort): PortLike {
  return {
    postMessage: (m, transfer) => port.postMessage(m, transfer),
    onMessage: (fn) => void port.on("message", fn),
    onClose: (fn) => void port.on("close", fn),
    close: () => port.close(),
  };
}

export interface PortSessionOptions {
  /** The side that opens even-numbered streams (the other opens odd ones). */
  initiator: boolean;
  /** Shown as the session's remote address ("worker 1"). */
  remote: string;
  protocol: string;
  /** Streams each side may have open at once; further peer streams are stopped. */
  maxStreams: number;
}

interface Entry {
  send?: PortSend;
  recv?: PortRecv;
  halves: number;
}

export class PortSession implements Session, PortHost {
  readonly transport = "port" as const;
  readonly protocol: string;
  url: URL;
  readonly remote: string;
  readonly maxDatagramSize = 1200;
  onBidi: ((stream: BidiStream) => void) | null = null;
  onUni: ((stream: RecvStream) => void) | null = null;
  onDatagram: ((data: Uint8Array) => void) | null = null;
  readonly closed: Promise<CloseInfo>;
  private resolveClosed!: (i: CloseInfo) => void;
  private closeInfo: CloseInfo | undefined;
  private readonly streams = new Map<number, Entry>();
  private nextBidi: number;
  private nextUni: number;
  /** Lowest id the peer has not opened yet, per kind: lower unknown ids are finished streams. */
  private peerBidi: number;
  private peerUni: number;
  private opened = 0;
  private peerOpen = 0;
  private readonly waiters: Array<() => void> = [];
  private readonly pending = new Set<PortSend>();
  private readonly credits = new Map<number, number>();
  private ops: number[] = [];
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    private readonly port: PortLike,
    private readonly opts: PortSessionOptions,
  ) {
    this.protocol = opts.protocol;
    this.remote = opts.remote;
    this.url = new URL("https://worker.invalid/");
    this.nextBidi = opts.initiator ? 0 : 1;
    this.nextUni = opts.initiator ? 2 : 3;
    this.peerBidi = opts.initiator ? 1 : 0;
    this.peerUni = opts.initiator ? 3 : 2;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    port.onMessage((m) => this.receive(m));
    port.onClose(() => this.shutdown({ code: 0, reason: "the other end is gone", remote: true }));
  }

  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  openBidi(): Promise<BidiStream> {
    return this.slot().then(() => {
      const id = this.nextBidi;
      this.nextBidi += 4;
      const send = new PortSend(id, this, STREAM_WINDOW);
      const recv = new PortRecv(id, this);
      this.streams.set(id, { send, recv, halves: 2 });
      return { id, send, recv };
    });
  }

  openUni(): Promise<SendStream> {
    return this.slot().then(() => {
      const id = this.nextUni;
      this.nextUni += 4;
      const send = new PortSend(id, this, STREAM_WINDOW);
      this.streams.set(id, { send, halves: 1 });
      return send;
    });
  }

  sendDatagram(data: Uint8Array): boolean {
    if (this.closeInfo !== undefined || data.byteLength > this.maxDatagramSize) return false;
    this.push(Op.Datagram, 0, this.bytes, data.byteLength);
    this.take(data);
    this.schedule();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    try {
      this.port.postMessage({ close: { code, reason } }, []);
    } catch {
      // The port is already gone; the local close below is all there is to do.
    }
    this.shutdown({ code, reason, remote: false });
  }

  // --- PortHost -------------------------------------------------------------------------------

  markPending(s: PortSend): void {
    this.pending.add(s);
    this.schedule();
  }

  credit(id: number, n: number): void {
    this.credits.set(id, (this.credits.get(id) ?? 0) + n);
    this.schedule();
  }

  stop(id: number, code: number): void {
    this.push(Op.Stop, id, code, 0);
    this.schedule();
  }

  later(fn: () => void): void {
    setImmediate(() => {
      if (this.closeInfo === undefined) fn();
    });
  }

  halfDone(id: number): void {
    const e = this.streams.get(id);
    if (e === undefined || --e.halves > 0) return;
    this.streams.delete(id);
    // A stream of ours is over: its slot goes to the next opener.
    if ((id & 1) === (this.opts.initiator ? 0 : 1)) {
      this.opened--;
      this.waiters.shift()?.();
    } else {
      this.peerOpen--;
    }
  }

  // --- sending --------------------------------------------------------------------------------

  /** Wait for a free stream slot (bounded: the waiters are capped like the streams). */
  private slot(): Promise<void> {
    if (this.closeInfo !== undefined) return Promise.reject(new Error("session closed"));
    if (this.opened < this.opts.maxStreams) {
      this.opened++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.opts.maxStreams) return Promise.reject(new Error("too many streams waiting to open"));
    return new Promise((resolve, reject) => {
      this.waiters.push(() => {
        if (this.closeInfo !== undefined) return reject(new Error("session closed"));
        this.opened++;
        resolve();
      });
    });
  }

  private push(kind: Op, id: number, a: number, b: number): void {
    this.ops.push(kind, id, a, b);
  }

  private take(chunk: Uint8Array): void {
    this.parts.push(chunk);
    this.bytes += chunk.byteLength;
  }

  private schedule(): void {
    if (this.scheduled || this.closeInfo !== undefined) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closeInfo !== undefined) return;
    for (const [id, n] of this.credits) this.push(Op.Credit, id, n, 0);
    this.credits.clear();
    const list = [...this.pending];
    this.pending.clear();
    for (const s of list) this.collect(s);
    if (this.ops.length === 0) return;
    const ops = Float64Array.from(this.ops);
    let buf: ArrayBuffer | undefined;
    if (this.bytes > 0) {
      // The one copy: chunks may be shared (a cached group goes to many viewers), so they are not
      // transferred themselves.
      const out = new Uint8Array(this.bytes);
      let at = 0;
      for (const p of this.parts) {
        out.set(p, at);
        at += p.byteLength;
      }
      buf = out.buffer;
    }
    this.ops = [];
    this.parts = [];
    this.bytes = 0;
    const wire: Wire = { ops, buf };
    try {
      this.port.postMessage(wire, buf !== undefined ? [ops.buffer, buf] : [ops.buffer]);
    } catch (err) {
      this.shutdown({ code: 0, reason: `port failed: ${err instanceof Error ? err.message : String(err)}`, remote: false });
    }
  }

  /** Move what the peer's window allows of `s` into this turn's message. */
  private collect(s: PortSend): void {
    if (s.resetCode !== undefined) {
      if (!s.resetPosted) {
        s.resetPosted = true;
        this.push(Op.Reset, s.id, s.resetCode, 0);
        s.finished();
      }
      return;
    }
    if (s.dead) return;
    while (s.queue.length > 0 && s.window > 0) {
      const head = s.queue[0];
      const n = Math.min(head.byteLength - s.offset, s.window);
      const piece = s.offset === 0 && n === head.byteLength ? head : head.subarray(s.offset, s.offset + n);
      this.push(Op.Data, s.id, this.bytes, n);
      this.take(piece);
      s.offset += n;
      if (s.offset === head.byteLength) {
        s.queue.shift();
        s.offset = 0;
      }
      s.posted(n);
    }
    if (s.queue.length === 0 && s.fin && !s.finPosted) {
      s.finPosted = true;
      this.push(Op.Fin, s.id, 0, 0);
      s.finished();
    }
  }

  // --- receiving ------------------------------------------------------------------------------

  private receive(m: Wire): void {
    if (this.closeInfo !== undefined) return;
    if (m.close !== undefined) return this.shutdown({ code: m.close.code, reason: m.close.reason, remote: true });
    const ops = m.ops;
    if (ops === undefined) return;
    for (let i = 0; i + 3 < ops.length && this.closeInfo === undefined; i += 4) {
      const kind = ops[i] as Op;
      const id = ops[i + 1];
      const a = ops[i + 2];
      const b = ops[i + 3];
      if (kind === Op.Datagram) {
        if (m.buf !== undefined) this.onDatagram?.(new Uint8Array(m.buf, a, b));
        continue;
      }
      const e = this.streams.get(id) ?? this.incoming(id);
      if (e === undefined) continue;
      switch (kind) {
        case Op.Data:
          if (m.buf !== undefined) e.recv?.data(new Uint8Array(m.buf, a, b));
          break;
        case Op.Fin:
          e.recv?.fin();
          break;
        case Op.Reset:
          e.recv?.reset(a);
          break;
        case Op.Stop:
          e.send?.stopped(a);
          break;
        case Op.Credit:
          e.send?.credited(a);
          break;
      }
    }
  }

  /** The first operation on a stream the peer opened: announce it (or refuse one too many). */
  private incoming(id: number): Entry | undefined {
    const ours = (id & 1) === (this.opts.initiator ? 0 : 1);
    if (ours) return undefined;
    const uni = (id & 2) !== 0;
    if (id < (uni ? this.peerUni : this.peerBidi)) return undefined;
    if (uni) this.peerUni = id + 4;
    else this.peerBidi = id + 4;
    if (this.peerOpen >= this.opts.maxStreams) {
      this.stop(id, 0);
      return undefined;
    }
    this.peerOpen++;
    const recv = new PortRecv(id, this);
    if (uni) {
      const e: Entry = { recv, halves: 1 };
      this.streams.set(id, e);
      this.onUni?.(recv);
      return e;
    }
    const send = new PortSend(id, this, STREAM_WINDOW);
    const e: Entry = { send, recv, halves: 2 };
    this.streams.set(id, e);
    this.onBidi?.({ id, send, recv });
    return e;
  }

  private shutdown(info: CloseInfo): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = info;
    this.pending.clear();
    this.ops = [];
    this.parts = [];
    const entries = [...this.streams.values()];
    this.streams.clear();
    for (const w of this.waiters.splice(0)) w();
    this.port.close();
    this.resolveClosed(info);
    for (const e of entries) {
      e.send?.stopped(info.code);
      e.recv?.reset(info.code);
    }
  }
}
