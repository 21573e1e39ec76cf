// A QMux-over-WebSocket session (an @moq/qmux server session, shaped like WebTransport) presented
// as our transport Session. Incoming streams and datagrams are pulled from qmux only while a
// handler is set, so nothing is lost before the MoQ layer attaches; qmux's stream limit bounds
// what waits meanwhile.
import { detach } from "../../util/async.js";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../session.js";
import type { Config as QmuxConfig } from "@moq/qmux";
import { WhatwgRecv, WhatwgSend, type OrderedWritable } from "../whatwg-streams.js";
import { isQmuxViolation, quietQmux } from "./qmux-console.js";

/** What we use of an @moq/qmux Session (Node has no DOM WebTransport types). */
export interface QmuxLike {
  readonly closed: Promise<{ closeCode?: number; reason?: string }>;
  readonly incomingBidirectionalStreams: ReadableStream<QmuxBidi>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  readonly datagrams: { readonly readable: ReadableStream<Uint8Array>; readonly writable: WritableStream<Uint8Array>; readonly maxDatagramSize: number };
  createBidirectionalStream(opts?: { sendOrder?: number }): Promise<QmuxBidi>;
  createUnidirectionalStream(opts?: { sendOrder?: number }): Promise<OrderedWritable>;
  close(info?: { closeCode?: number; reason?: string }): void;
}

export interface QmuxBidi {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: OrderedWritable;
}

/** Our QMux limits, as @moq/qmux takes them (either role). */
export interface QmuxLimits {
  maxStreams: number;
  connectionWindow: number;
  streamWindow: number;
  /** Keep-alive ping interval (ms); ≤ 0 = off. */
  pingInterval: number;
}

/** @moq/qmux's `config` for our limits. */
export function qmuxConfig(o: QmuxLimits): QmuxConfig {
  return {
    maxStreamsBidi: BigInt(o.maxStreams),
    maxStreamsUni: BigInt(o.maxStreams),
    maxData: BigInt(o.connectionWindow),
    maxStreamDataBidiLocal: BigInt(o.streamWindow),
    maxStreamDataBidiRemote: BigInt(o.streamWindow),
    maxStreamDataUni: BigInt(o.streamWindow),
    // qmux's own idle timer (qmux-01+) agrees with our keep-alive; 0 leaves it to the peer.
    maxIdleTimeout: BigInt(o.pingInterval > 0 ? o.pingInterval * 6 : 0),
  };
}

export interface WebSocketSessionInit {
  /** The Sec-WebSocket-Protocol we echoed ("" when the client offered none). */
  subprotocol: string;
  /** Its MoQ part ("" for a bare wire format: legacy SETUP). */
  protocol: string;
  url: URL;
  remote: string;
  /** Drop the WebSocket at once (keep-alive expiry). */
  terminate(): void;
  /** The keep-alive's last ping/pong round trip (ms). */
  rtt?(): number | undefined;
}

// Close codes for endings the peer did not choose (moq-wire §2.12), as the QUIC transport uses.
const CLOSED = 0;
const TIMEOUT = 3;
const PROTOCOL_VIOLATION = 15;
// A close reason rides in one QMux record (≥ 16382 bytes); keep well inside it.
const MAX_REASON = 1024;

function noop(): void {}

/** Pulls one of qmux's incoming ReadableStreams only while someone is listening. */
class Intake<T> {
  private readonly reader: ReadableStreamDefaultReader<T>;
  private handler: ((v: T) => void) | null = null;
  private reading = false;
  private held: T[] = [];

  constructor(stream: ReadableStream<T>) {
    this.reader = stream.getReader();
  }

  set(handler: ((v: T) => void) | null): void {
    this.handler = handler;
    if (handler === null) return;
    while (this.held.length > 0 && this.handler !== null) this.handler(this.held.shift() as T);
    // run() catches reader errors itself; what remains is a handler that threw: stop intake.
    detach(this.run(), () => (this.handler = null));
  }

  private async run(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (this.handler !== null) {
        const r = await this.reader.read();
        if (r.done) return;
        if (this.handler === null) this.held.push(r.value);
        else this.handler(r.value);
      }
    } catch {
      // The session ended; `closed` says why.
    } finally {
      this.reading = false;
    }
  }
}

export class WebSocketSession implements Session {
  readonly transport = "websocket" as const;
  readonly protocol: string;
  readonly subprotocol: string;
  url: URL;
  readonly remote: string;
  readonly closed: Promise<CloseInfo>;
  private ending: CloseInfo | undefined;
  private readonly bidiIn: Intake<QmuxBidi>;
  private readonly uniIn: Intake<ReadableStream<Uint8Array>>;
  private readonly dgramIn: Intake<Uint8Array>;
  private dgramOut: WritableStreamDefaultWriter<Uint8Array> | undefined;
  private bidiHandler: ((stream: BidiStream) => void) | null = null;
  private uniHandler: ((stream: RecvStream) => void) | null = null;
  private dgramHandler: ((data: Uint8Array) => void) | null = null;
  // QUIC stream numbering (index·4 | uni·2 | server): the ids qmux puts on the wire when the peer
  // opens its streams in order, which every client does.
  private peerBidi = 0;
  private peerUni = 0;
  private ourBidi = 0;
  private ourUni = 0;

  constructor(
    private readonly qmux: QmuxLike,
    private readonly init: WebSocketSessionInit,
  ) {
    // Before qmux reads a byte from the peer (it starts on a later tick).
    quietQmux();
    this.protocol = init.protocol;
    this.subprotocol = init.subprotocol;
    this.url = init.url;
    this.remote = init.remote;
    this.bidiIn = new Intake(qmux.incomingBidirectionalStreams);
    this.uniIn = new Intake(qmux.incomingUnidirectionalStreams);
    this.dgramIn = new Intake(qmux.datagrams.readable);
    this.closed = qmux.closed.then(
      (info) => this.settle({ code: info.closeCode ?? CLOSED, reason: info.reason ?? "", remote: true }),
      (err: unknown) => this.settle(dropped(err)),
    );
  }

  rtt(): number | undefined {
    return this.ending === undefined ? this.init.rtt?.() : undefined;
  }

  get maxDatagramSize(): number {
    // 0 until the peer's transport parameters arrive, and on qmux-00 (no datagrams).
    return this.ending === undefined ? this.qmux.datagrams.maxDatagramSize : 0;
  }

  get onBidi(): ((stream: BidiStream) => void) | null {
    return this.bidiHandler;
  }
  set onBidi(handler: ((stream: BidiStream) => void) | null) {
    this.bidiHandler = handler;
    this.bidiIn.set(handler === null ? null : this.acceptBidi);
  }

  get onUni(): ((stream: RecvStream) => void) | null {
    return this.uniHandler;
  }
  set onUni(handler: ((stream: RecvStream) => void) | null) {
    this.uniHandler = handler;
    this.uniIn.set(handler === null ? null : this.acceptUni);
  }

  get onDatagram(): ((data: Uint8Array) => void) | null {
    return this.dgramHandler;
  }
  set onDatagram(handler: ((data: Uint8Array) => void) | null) {
    this.dgramHandler = handler;
    this.dgramIn.set(handler);
  }

  async openBidi(): Promise<BidiStream> {
    const s = await this.qmux.createBidirectionalStream();
    const id = this.ourBidi++ * 4 + 1;
    const recv = new WhatwgRecv(id, s.readable, true);
    // The peer cannot answer a stream it has not seen yet, so reading may start right away.
    recv.start();
    return { id, send: new WhatwgSend(id, s.writable), recv };
  }

  async openUni(): Promise<SendStream> {
    const w = await this.qmux.createUnidirectionalStream();
    return new WhatwgSend(this.ourUni++ * 4 + 3, w);
  }

  sendDatagram(data: Uint8Array): boolean {
    const max = this.maxDatagramSize;
    if (max === 0 || data.byteLength > max) return false;
    this.dgramOut ??= this.qmux.datagrams.writable.getWriter();
    // Unreliable by design: qmux sheds it under backpressure.
    this.dgramOut.write(data).catch(noop);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.ending !== undefined) return;
    this.ending = { code, reason, remote: false };
    try {
      // APPLICATION_CLOSE; qmux closes the WebSocket once it has flushed.
      this.qmux.close({ closeCode: code, reason: reason.length > MAX_REASON ? reason.slice(0, MAX_REASON) : reason });
    } catch {
      this.init.terminate();
    }
  }

  /** The peer went silent: drop the connection without ceremony. */
  expire(reason: string): void {
    if (this.ending !== undefined) return;
    this.ending = { code: TIMEOUT, reason, remote: true };
    this.init.terminate();
  }

  private settle(info: CloseInfo): CloseInfo {
    this.ending ??= info;
    return this.ending;
  }

  // Bound once, handed to the intakes.
  private readonly acceptBidi = (s: QmuxBidi): void => {
    const id = this.peerBidi++ * 4;
    const recv = new WhatwgRecv(id, s.readable, true);
    const stream = { id, send: new WhatwgSend(id, s.writable), recv };
    this.bidiHandler?.(stream);
    // Only now, with the owner's handlers in place (the Session contract).
    recv.start();
  };

  private readonly acceptUni = (s: ReadableStream<Uint8Array>): void => {
    const recv = new WhatwgRecv(this.peerUni++ * 4 + 2, s, true);
    this.uniHandler?.(recv);
    recv.start();
  };
}

// The sessions qmux kills itself (CONNECTION_CLOSE 1002/1003 to the peer) for breaking QMux's
// rules rather than for bytes it could not decode: their fixed reasons, as qmux words them.
const QMUX_LIMIT = /^Connection closed: 100[23] (stream limit exceeded|flow control error|text frames are not valid for QMux)$/;
// Longest reason kept from a decoder's message (it can quote the peer's bytes).
const MAX_CAUSE = 256;

/**
 * How a session that ended without an APPLICATION_CLOSE is reported: a protocol violation qmux
 * detected (malformed frames, limits broken; the peer was sent CONNECTION_CLOSE 1002) as
 * ProtocolViolation by us, as the QUIC paths report theirs; an idle timeout as Timeout; a dropped
 * socket or the peer's CONNECTION_CLOSE as a plain close.
 */
function dropped(err: unknown): CloseInfo {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const message = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  if (isQmuxViolation(cause) || isQmuxViolation(err) || QMUX_LIMIT.test(message)) {
    const reason = `QMux protocol violation: ${message.length > MAX_CAUSE ? `${message.slice(0, MAX_CAUSE)}…` : message}`;
    return { code: PROTOCOL_VIOLATION, reason, remote: false };
  }
  return { code: /idle timeout/i.test(message) ? TIMEOUT : CLOSED, reason: message, remote: true };
}
