// One HTTP/3 connection as far as WebTransport needs it, in either role: control and QPACK
// streams, SETTINGS, and routing of WebTransport streams and datagrams to their sessions. The
// server's request streams (extended CONNECT, `:protocol webtransport`) are request.ts; the
// client's CONNECT is client.ts. Anything else gets a real HTTP status or H3 error. Every stream is
// parsed incrementally (parser.ts) with a cap on what may be buffered: request heads by
// max_header_size, capsules by max_capsule_size, control frames by 16 KiB.
import type { BidiStream, RecvStream, SendStream } from "../session.js";
import type { QuicConnection } from "../quic/connection.js";
import { ByteQueue } from "../../util/byte-queue.js";
import { Reader, Writer } from "../../util/bytes.js";
import type { Logger } from "../../util/log.js";
import { decodeSettings, encodeFrame, encodeSettings, Frame, H3Error, H3ProtocolError, Setting, StreamType } from "./frame.js";
import { FrameParser } from "./parser.js";
import { codeOf, messageOf, serveRequest, type ConnectDecision, type ConnectRequest, type RequestHost } from "./request.js";
import type { WebTransportSession } from "./webtransport.js";

export { parseProtocols, type ConnectDecision, type ConnectRequest } from "./request.js";

export interface H3Options<T> {
  log: Logger;
  maxSessions: number;
  /** Largest request head: the HEADERS frame and its decoded field section (bytes). Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest capsule on a CONNECT stream (bytes). Default 64 KiB. */
  maxCapsule?: number;
  /** Server role: vet an extended CONNECT. The client role (client.ts) leaves both out. */
  accept?(req: ConnectRequest): Promise<ConnectDecision<T>>;
  onSession?(session: WebTransportSession, value: T): void;
}

/** Control-stream frames we read (SETTINGS, GOAWAY, MAX_PUSH_ID) are small. */
const MAX_CONTROL_FRAME = 16 * 1024;

/** A stream's leading varints, and the bytes received so far. all() and rest() drain: call one, once. */
interface Prefix {
  first: number;
  /** The second varint, or -1 when only one was read. */
  second: number;
  /** Every byte received, from the stream's first. */
  all(): Uint8Array[];
  /** The bytes after the prefix. */
  rest(): Uint8Array[];
  /** Whether the stream's end arrived after the prefix (whoever takes over sets onEnd). */
  ended(): boolean;
}

/**
 * Read a stream's leading varints (a stream type and maybe a session id, or a frame type and
 * length) without buffering beyond them: at most 16 bytes are inspected, however they arrive.
 */
function readPrefix(recv: RecvStream, varints: (first: number) => 1 | 2, done: (p: Prefix) => void, fail: (e: unknown) => void): void {
  const q = new ByteQueue();
  let ended = false;
  recv.onData = (c) => {
    q.push(c);
    const a = q.peekVarint(0);
    if (a === undefined) return;
    const b = varints(a.value) === 2 ? q.peekVarint(a.size) : { value: -1, size: 0 };
    if (b === undefined) return;
    recv.onData = null;
    recv.onEnd = () => (ended = true);
    done({
      first: a.value,
      second: b.value,
      all: () => q.drain(),
      rest: () => {
        q.skip(a.size + b.size);
        return q.drain();
      },
      ended: () => ended,
    });
  };
  recv.onEnd = () => fail(new H3ProtocolError(H3Error.FrameError, "stream ended inside its header"));
}

export class H3Connection<T> {
  private readonly sessions = new Map<number, WebTransportSession>();
  /** Streams for sessions whose CONNECT has not been answered yet (bounded). */
  private readonly early = new Map<number, Array<() => void>>();
  private peerSettings: Map<number, number> | undefined;
  readonly maxHeaderSize: number;
  /** Our control stream, once open (GOAWAY goes there). */
  private controlOut: SendStream | undefined;
  /** The request stream id after the highest one seen: what a GOAWAY names. */
  private nextRequest = 0;
  /** Set once GOAWAY was decided: requests on streams at or above it are rejected. */
  private goingAway: number | undefined;
  readonly maxCapsule: number;
  /** Resolves with the peer's SETTINGS (a client must see them before an extended CONNECT). */
  readonly settings: Promise<Map<number, number>>;
  private gotSettings!: (s: Map<number, number>) => void;

  constructor(
    private readonly quic: QuicConnection,
    private readonly opts: H3Options<T>,
  ) {
    this.maxHeaderSize = opts.maxHeaderSize ?? 16 * 1024;
    this.maxCapsule = opts.maxCapsule ?? 64 * 1024;
    this.settings = new Promise((r) => (this.gotSettings = r));
  }

  start(): void {
    this.quic.onBidi = (s) => this.bidi(s);
    this.quic.onUni = (s) => this.uni(s);
    this.quic.onDatagram = (d) => this.datagram(d);
    const settings = new Map<number, number>([
      [Setting.QpackMaxTableCapacity, 0],
      [Setting.QpackBlockedStreams, 0],
      [Setting.MaxFieldSectionSize, this.maxHeaderSize],
      [Setting.EnableConnectProtocol, 1],
      [Setting.H3Datagram, 1],
      [Setting.H3DatagramDraft04, 1],
      [Setting.WebTransportMaxSessions, this.opts.maxSessions],
      [Setting.EnableWebTransportDraft, 1],
      [Setting.WebTransportMaxSessionsDraft, this.opts.maxSessions],
    ]);
    // The peer may grant no uni streams, or close first: without our critical streams HTTP/3
    // cannot run, so the connection (only this one) ends with the code RFC 9114 §6.2.1 names.
    const critical = (err: unknown): void => this.error(H3Error.ClosedCriticalStream, `cannot open a critical stream: ${messageOf(err)}`);
    this.quic.openUni().then((s) => {
      s.write(new Writer(2).varint(StreamType.Control).finish());
      s.write(encodeSettings(settings));
      this.controlOut = s;
      if (this.goingAway !== undefined) this.sendGoaway(this.goingAway);
    }, critical);
    for (const type of [StreamType.QpackEncoder, StreamType.QpackDecoder]) this.quic.openUni().then((s) => void s.write(new Writer(1).varint(type).finish()), critical);
  }

  /**
   * Drain (RFC 9114 §5.2): tell the client that requests on streams from the next unseen one on
   * will not be processed. Sessions already open carry on until the MoQ layer's own GOAWAY and
   * close end them; new CONNECTs on later streams are refused with H3_REQUEST_REJECTED.
   */
  goaway(): void {
    if (this.goingAway !== undefined) return;
    this.goingAway = this.nextRequest;
    if (this.controlOut !== undefined) this.sendGoaway(this.goingAway);
  }

  private sendGoaway(id: number): void {
    this.controlOut?.write(encodeFrame(Frame.Goaway, new Writer(8).varint(id).finish()));
  }

  private error(code: number, reason: string): void {
    this.opts.log.warn({ code, reason }, "HTTP/3 connection error");
    this.quic.close(code, reason);
  }

  private uni(recv: RecvStream): void {
    const refuse = (): void => recv.stop(H3Error.StreamCreationError);
    readPrefix(
      recv,
      // A WebTransport stream's type is followed by its session id.
      (type) => (type === StreamType.WebTransport ? 2 : 1),
      (p) => {
        switch (p.first) {
          case StreamType.Control:
            return this.control(recv, p.rest(), p.ended());
          case StreamType.QpackEncoder:
          case StreamType.QpackDecoder:
            // Capacity 0: nothing useful arrives here, but the streams must stay open.
            recv.onData = () => undefined;
            return;
          case StreamType.WebTransport:
            return this.route(p.second, recv, (s) => s.acceptUni(recv, p.rest(), p.ended()), refuse);
          default:
            // Unknown (possibly GREASE) stream types are ignored (RFC 9114 §6.2).
            refuse();
        }
      },
      refuse,
    );
  }

  private control(recv: RecvStream, rest: Uint8Array[], ended: boolean): void {
    if (this.peerSettings !== undefined) return this.error(H3Error.StreamCreationError, "second control stream");
    const parser = new FrameParser({
      start: (type) => {
        if (this.peerSettings === undefined && type !== Frame.Settings) throw new H3ProtocolError(H3Error.MissingSettings, "control stream must start with SETTINGS");
        if (this.peerSettings !== undefined && (type === Frame.Settings || type === Frame.Data || type === Frame.Headers)) {
          throw new H3ProtocolError(H3Error.FrameUnexpected, `frame 0x${type.toString(16)} on the control stream`);
        }
        // GOAWAY, MAX_PUSH_ID and unknown frames need no action from a WebTransport server.
        return type === Frame.Settings ? { buffer: MAX_CONTROL_FRAME } : "skip";
      },
      frame: (_type, payload) => {
        this.peerSettings = decodeSettings(payload);
        this.gotSettings(this.peerSettings);
      },
    });
    const feed = (c: Uint8Array): void => {
      try {
        parser.push(c);
      } catch (e) {
        recv.onData = null;
        this.error(codeOf(e), messageOf(e));
      }
    };
    recv.onData = feed;
    recv.onEnd = () => this.error(H3Error.ClosedCriticalStream, "control stream closed");
    recv.onReset = () => this.error(H3Error.ClosedCriticalStream, "control stream reset");
    for (const c of rest) feed(c);
    if (ended) this.error(H3Error.ClosedCriticalStream, "control stream closed");
  }

  private bidi(stream: BidiStream): void {
    readPrefix(
      stream.recv,
      () => 2,
      (p) => {
        // A WebTransport bidi stream: 0x41, then the session id (no length).
        if (p.first === Frame.WebTransportStream) {
          return this.route(p.second, stream.recv, (s) => s.acceptBidi(stream, p.rest(), p.ended()), () => stream.send.reset(H3Error.StreamCreationError));
        }
        // Otherwise a request stream, parsed from its first byte.
        this.requestStream(stream, p.all(), p.ended());
      },
      (e) => {
        stream.send.reset(codeOf(e));
        stream.recv.stop(codeOf(e));
      },
    );
  }

  /** A request stream (server role; a server never opens one toward a client). */
  private requestStream(stream: BidiStream, first: Uint8Array[], endedAlready: boolean): void {
    const accept = this.opts.accept;
    if (accept === undefined) {
      stream.send.reset(H3Error.StreamCreationError);
      stream.recv.stop(H3Error.StreamCreationError);
      return;
    }
    if (this.goingAway !== undefined && stream.id >= this.goingAway) {
      stream.send.reset(H3Error.RequestRejected);
      stream.recv.stop(H3Error.RequestRejected);
      return;
    }
    this.nextRequest = Math.max(this.nextRequest, stream.id + 4);
    const host: RequestHost<T> = {
      quic: this.quic,
      log: this.opts.log,
      maxHeaderSize: this.maxHeaderSize,
      maxCapsule: this.maxCapsule,
      full: () => this.sessions.size >= this.opts.maxSessions,
      accept,
      opened: (session, value) => {
        this.register(session);
        this.opts.onSession?.(session, value);
        this.releaseEarly(session.sessionId);
      },
      refused: (id) => this.early.delete(id),
      error: (code, reason) => this.error(code, reason),
    };
    serveRequest(host, stream, first, endedAlready);
  }

  /** Route streams and datagrams carrying `session`'s id to it, until it closes. */
  register(session: WebTransportSession): void {
    const id = session.sessionId;
    this.sessions.set(id, session);
    // closed never rejects (transport contract); the catch keeps the lint promise honest.
    session.closed.then(() => this.sessions.delete(id), () => this.sessions.delete(id));
  }

  /** Streams that arrived for `id` before its session existed: deliver (or refuse) them now. */
  releaseEarly(id: number): void {
    for (const f of this.early.get(id) ?? []) f();
    this.early.delete(id);
  }

  /** Send a stream to its session; hold it (paused, bounded) if the CONNECT is still being answered. */
  private route(sessionId: number, recv: RecvStream, deliver: (s: WebTransportSession) => void, refuse: () => void): void {
    const s = this.sessions.get(sessionId);
    if (s !== undefined) return deliver(s);
    const waiting = this.early.get(sessionId) ?? [];
    if (waiting.length >= 64 || this.early.size >= 16) return refuse();
    recv.pause();
    waiting.push(() => {
      const now = this.sessions.get(sessionId);
      if (now === undefined) return refuse();
      // resume() only schedules a read, so the session's handlers are in place before data flows.
      recv.resume();
      deliver(now);
    });
    this.early.set(sessionId, waiting);
  }

  private datagram(d: Uint8Array): void {
    const r = new Reader(d);
    try {
      const q = r.varint();
      this.sessions.get(q * 4)?.datagram(r.rest());
    } catch {
      // A malformed datagram is dropped, as unreliable data may be.
    }
  }
}
