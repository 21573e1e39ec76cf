// Adapts a WebTransport-shaped session object (the optional fails-quiche engine's; any W3C-shaped
// one, such as an @moq/qmux session, works) to our callback-based Session. Its streams use the
// same adapter as QMux over WebSocket (whatwg-streams.ts), so both behave alike.
import { detach } from "../util/async.js";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session, TransportKind } from "./session.js";
import { WhatwgRecv, WhatwgSend } from "./whatwg-streams.js";

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

export interface AdapterInfo {
  transport: TransportKind;
  protocol: string;
  url: URL;
  remote: string;
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
      const recv = new WhatwgRecv(id, s.readable);
      this.onBidi?.({ id, send: new WhatwgSend(id, s.writable), recv });
      // Only now, with the owner's handlers in place (the Session contract).
      recv.start();
    }), fail);
    detach(this.accept(this.wt.incomingUnidirectionalStreams, (s) => {
      const recv = new WhatwgRecv(this.nextId++, s);
      this.onUni?.(recv);
      recv.start();
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
    const recv = new WhatwgRecv(id, s.readable);
    // The peer cannot answer a stream it has not seen yet, so reading may start right away.
    recv.start();
    return { id, send: new WhatwgSend(id, s.writable), recv };
  }

  async openUni(): Promise<SendStream> {
    const s = await this.wt.createUnidirectionalStream();
    return new WhatwgSend(this.nextId++, s);
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
