// One WebTransport session over HTTP/3 (draft-ietf-webtrans-http3): streams prefixed with the
// session id, datagrams with the quarter stream id, and capsules on the CONNECT stream. Stream
// error codes are mapped to and from the HTTP/3 code space so an application code arrives as sent.
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../session.js";
import type { QuicConnection } from "../quic/connection.js";
import { Reader, Writer } from "../../util/bytes.js";
import { encodeFrame, Frame, H3Error, H3ProtocolError, h3ToWt, StreamType, wtToH3 } from "./frame.js";

/** Peer streams held for a session whose application has not attached its handlers yet. */
const MAX_HELD = 64;

export const Capsule = { CloseSession: 0x2843, DrainSession: 0x78ae } as const;

/**
 * A capsule handler for a CONNECT stream (either role): CLOSE_WEBTRANSPORT_SESSION ends the
 * session with the peer's code and reason and finishes our side of the stream; DRAIN and unknown
 * capsules need no action.
 */
export function closeCapsule(session: () => WebTransportSession | undefined, connect: BidiStream): (type: number, payload: Uint8Array) => void {
  return (type, payload) => {
    const s = session();
    if (type !== Capsule.CloseSession || s === undefined) return;
    if (payload.byteLength < 4) throw new H3ProtocolError(H3Error.MessageError, "CLOSE_WEBTRANSPORT_SESSION shorter than its code");
    const p = new Reader(payload);
    const code = ((p.u8() << 24) | (p.u8() << 16) | (p.u8() << 8) | p.u8()) >>> 0;
    s.finish({ code, reason: Buffer.from(p.rest()).toString("utf8"), remote: true });
    connect.send.end();
  };
}

class WtSend implements SendStream {
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;

  constructor(private readonly inner: SendStream) {
    inner.onDrain = () => this.onDrain?.();
    inner.onStop = (code) => this.onStop?.(h3ToWt(code) ?? code);
  }

  get id(): number {
    return this.inner.id;
  }
  get writableLength(): number {
    return this.inner.writableLength;
  }
  get priority(): number {
    return this.inner.priority;
  }
  set priority(p: number) {
    this.inner.priority = p;
  }
  write(chunk: Uint8Array): boolean {
    return this.inner.write(chunk);
  }
  end(): void {
    this.inner.end();
  }
  reset(code: number): void {
    this.inner.reset(wtToH3(code));
  }
}

class WtRecv implements RecvStream {
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;

  constructor(
    private readonly inner: RecvStream,
    /** Bytes that followed the stream header in the first chunk(s). */
    head: Uint8Array[],
    ended: boolean,
  ) {
    // Deliver after the application attached its handlers (same turn as onBidi/onUni).
    queueMicrotask(() => {
      for (const c of head) this.onData?.(c);
      if (ended) this.onEnd?.();
      inner.onData = (c) => this.onData?.(c);
      inner.onEnd = () => this.onEnd?.();
    });
    inner.onData = (c) => head.push(c);
    inner.onEnd = () => (ended = true);
    inner.onReset = (code) => this.onReset?.(h3ToWt(code) ?? code);
  }

  get id(): number {
    return this.inner.id;
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  stop(code: number): void {
    this.inner.stop(wtToH3(code));
  }
}

export class WebTransportSession implements Session {
  readonly transport = "webtransport" as const;
  onDatagram: ((data: Uint8Array) => void) | null = null;
  readonly closed: Promise<CloseInfo>;
  private resolveClosed!: (c: CloseInfo) => void;
  private done = false;
  private bidiHandler: ((stream: BidiStream) => void) | null = null;
  private uniHandler: ((stream: RecvStream) => void) | null = null;
  /** Peer streams waiting for a handler (see hold). */
  private readonly held: Array<() => void> = [];

  constructor(
    private readonly quic: QuicConnection,
    /** The CONNECT stream's id: the session id. */
    readonly sessionId: number,
    private readonly connect: BidiStream,
    readonly protocol: string,
    public url: URL,
  ) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    const gone = (info: { code: number; reason: string }): void => this.finish({ code: info.code, reason: info.reason, remote: true });
    quic.closed.then(gone, () => gone({ code: 0, reason: "connection lost" }));
  }

  get remote(): string {
    return this.quic.remote;
  }

  get maxDatagramSize(): number {
    return Math.max(0, this.quic.maxDatagramSize - 8);
  }

  rtt(): number | undefined {
    return this.quic.rtt();
  }

  get onBidi(): ((stream: BidiStream) => void) | null {
    return this.bidiHandler;
  }
  set onBidi(h: ((stream: BidiStream) => void) | null) {
    this.bidiHandler = h;
    this.release();
  }
  get onUni(): ((stream: RecvStream) => void) | null {
    return this.uniHandler;
  }
  set onUni(h: ((stream: RecvStream) => void) | null) {
    this.uniHandler = h;
    this.release();
  }

  /** A peer stream already stripped of its 0x41/0x54 + session id header. */
  acceptBidi(stream: BidiStream, head: Uint8Array[], ended: boolean): void {
    if (this.done) return stream.send.reset(wtToH3(0));
    const h = this.bidiHandler;
    if (h === null) return this.hold(stream.recv, head, ended, (e) => this.acceptBidi(stream, head, e), () => stream.send.reset(wtToH3(0)));
    h({ id: stream.id, send: new WtSend(stream.send), recv: new WtRecv(stream.recv, head, ended) });
  }

  acceptUni(stream: RecvStream, head: Uint8Array[], ended: boolean): void {
    if (this.done) return stream.stop(wtToH3(0));
    const h = this.uniHandler;
    if (h === null) return this.hold(stream, head, ended, (e) => this.acceptUni(stream, head, e), () => stream.stop(wtToH3(0)));
    h(new WtRecv(stream, head, ended));
  }

  /**
   * A stream the peer opened before the application took the session (a dialer gets it only
   * after the CONNECT response, and the server may open streams at once): paused, its bytes kept,
   * until a handler is set. Bounded; beyond that the stream is refused.
   */
  private hold(recv: RecvStream, head: Uint8Array[], ended: boolean, deliver: (ended: boolean) => void, refuse: () => void): void {
    if (this.held.length >= MAX_HELD) return refuse();
    let end = ended;
    recv.onData = (c) => head.push(c);
    recv.onEnd = () => (end = true);
    recv.pause();
    this.held.push(() => {
      recv.resume();
      deliver(end);
    });
  }

  private release(): void {
    for (const f of this.held.splice(0)) f();
  }

  datagram(data: Uint8Array): void {
    this.onDatagram?.(data);
  }

  async openBidi(): Promise<BidiStream> {
    const s = await this.quic.openBidi();
    s.send.write(new Writer(10).varint(Frame.WebTransportStream).varint(this.sessionId).finish());
    return { id: s.id, send: new WtSend(s.send), recv: new WtRecv(s.recv, [], false) };
  }

  async openUni(): Promise<SendStream> {
    const s = await this.quic.openUni();
    s.write(new Writer(10).varint(StreamType.WebTransport).varint(this.sessionId).finish());
    return new WtSend(s);
  }

  sendDatagram(data: Uint8Array): boolean {
    if (this.done) return false;
    return this.quic.sendDatagram(new Writer(data.length + 8).varint(this.sessionId / 4).bytes(data).finish());
  }

  close(code: number, reason: string): void {
    if (this.done) return;
    const body = new Writer(reason.length + 8);
    body.u8((code >>> 24) & 0xff).u8((code >>> 16) & 0xff).u8((code >>> 8) & 0xff).u8(code & 0xff);
    body.bytes(Buffer.from(reason.slice(0, 1024), "utf8"));
    const capsule = new Writer(body.pos + 16).varint(Capsule.CloseSession).varint(body.pos).bytes(body.view()).finish();
    this.connect.send.write(encodeFrame(Frame.Data, capsule));
    this.connect.send.end();
    this.finish({ code, reason, remote: false });
  }

  /** The peer closed (capsule, FIN or reset of the CONNECT stream), or the connection died. */
  finish(info: CloseInfo): void {
    if (this.done) return;
    this.done = true;
    this.resolveClosed(info);
  }
}
