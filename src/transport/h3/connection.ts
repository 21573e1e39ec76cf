// The server side of HTTP/3 as far as WebTransport needs it: control and QPACK streams, SETTINGS,
// extended CONNECT (`:protocol webtransport`) on request streams, and routing of WebTransport
// streams and datagrams to their sessions. Anything else gets a real HTTP status or H3 error.
import type { BidiStream, RecvStream } from "../session.js";
import type { QuicConnection } from "../quic/connection.js";
import { Reader, ShortRead, DecodeError, Writer } from "../../util/bytes.js";
import type { Logger } from "../../util/log.js";
import { decodeSettings, encodeFrame, encodeSettings, Frame, H3Error, H3ProtocolError, readFrame, Setting, StreamType } from "./frame.js";
import { decodeFieldSection, encodeFieldSection, QpackError } from "./qpack.js";
import { Capsule, WebTransportSession } from "./webtransport.js";

export interface ConnectRequest {
  url: URL;
  headers: Map<string, string>;
  /** Parsed `wt-available-protocols`, in the client's order. */
  protocols: string[];
  remote: string;
}

export type ConnectDecision<T> = { ok: true; protocol?: string; value: T } | { ok: false; status: number; reason: string };

export interface H3Options<T> {
  log: Logger;
  maxSessions: number;
  maxFrame: number;
  accept(req: ConnectRequest): Promise<ConnectDecision<T>>;
  onSession(session: WebTransportSession, value: T): void;
}

/** Parse an RFC 8941 list of strings: `"moq-lite-05", "moq-lite-04"`. */
export function parseProtocols(v: string | undefined): string[] {
  if (v === undefined) return [];
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith('"') && s.endsWith('"') && s.length >= 2)
    .map((s) => s.slice(1, -1));
}

/** Buffer a stream's first bytes until `parse` succeeds; then hand over the remainder. */
function readHead<T>(recv: RecvStream, parse: (r: Reader) => T, done: (v: T, rest: Uint8Array[], ended: boolean) => void, fail: (e: unknown) => void): void {
  let buf: Uint8Array = new Uint8Array(0);
  const attempt = (ended: boolean): void => {
    const r = new Reader(buf);
    let v: T;
    try {
      v = parse(r);
    } catch (e) {
      if (e instanceof ShortRead && !ended) return;
      recv.onData = null;
      return fail(e);
    }
    recv.onData = null;
    recv.onEnd = null;
    done(v, r.remaining > 0 ? [buf.slice(r.pos)] : [], ended);
  };
  recv.onData = (c) => {
    buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
    if (buf.length > 64 * 1024) return fail(new H3ProtocolError(H3Error.ExcessiveLoad, "stream header too large"));
    attempt(false);
  };
  recv.onEnd = () => attempt(true);
}

export class H3Connection<T> {
  private readonly sessions = new Map<number, WebTransportSession>();
  /** Streams for sessions whose CONNECT has not been answered yet (bounded). */
  private readonly early = new Map<number, Array<() => void>>();
  private peerSettings: Map<number, number> | undefined;

  constructor(
    private readonly quic: QuicConnection,
    private readonly opts: H3Options<T>,
  ) {}

  start(): void {
    this.quic.onBidi = (s) => this.bidi(s);
    this.quic.onUni = (s) => this.uni(s);
    this.quic.onDatagram = (d) => this.datagram(d);
    const settings = new Map<number, number>([
      [Setting.QpackMaxTableCapacity, 0],
      [Setting.QpackBlockedStreams, 0],
      [Setting.EnableConnectProtocol, 1],
      [Setting.H3Datagram, 1],
      [Setting.H3DatagramDraft04, 1],
      [Setting.WebTransportMaxSessions, this.opts.maxSessions],
      [Setting.EnableWebTransportDraft, 1],
      [Setting.WebTransportMaxSessionsDraft, this.opts.maxSessions],
    ]);
    // The peer may grant no uni streams, or close first: without our critical streams HTTP/3
    // cannot run, so the connection (only this one) ends with the code RFC 9114 §6.2.1 names.
    const critical = (err: unknown): void => this.error(H3Error.ClosedCriticalStream, `cannot open a critical stream: ${err instanceof Error ? err.message : String(err)}`);
    this.quic.openUni().then((s) => {
      s.write(new Writer(2).varint(StreamType.Control).finish());
      s.write(encodeSettings(settings));
    }, critical);
    for (const type of [StreamType.QpackEncoder, StreamType.QpackDecoder]) this.quic.openUni().then((s) => void s.write(new Writer(1).varint(type).finish()), critical);
  }

  private error(code: number, reason: string): void {
    this.opts.log.warn({ code, reason }, "HTTP/3 connection error");
    this.quic.close(code, reason);
  }

  private uni(recv: RecvStream): void {
    readHead(
      recv,
      (r) => {
        const type = Number(r.varBig()); // GREASE stream types are 62-bit
        return type === StreamType.WebTransport ? { type, session: r.varint() } : { type, session: -1 };
      },
      ({ type, session }, rest, ended) => {
        switch (type) {
          case StreamType.Control:
            return this.control(recv, rest, ended);
          case StreamType.QpackEncoder:
          case StreamType.QpackDecoder:
            // Capacity 0: nothing useful arrives here, but the streams must stay open.
            recv.onData = () => undefined;
            return;
          case StreamType.WebTransport:
            return this.route(session, (s) => s.acceptUni(recv, rest, ended), () => recv.stop(H3Error.StreamCreationError));
          default:
            // Unknown (possibly GREASE) stream types are ignored (RFC 9114 §6.2).
            recv.stop(H3Error.StreamCreationError);
        }
      },
      () => recv.stop(H3Error.StreamCreationError),
    );
  }

  private control(recv: RecvStream, rest: Uint8Array[], ended: boolean): void {
    if (this.peerSettings !== undefined) return this.error(H3Error.StreamCreationError, "second control stream");
    let buf: Uint8Array = rest.length > 0 ? Buffer.concat(rest) : new Uint8Array(0);
    const parse = (): void => {
      const r = new Reader(buf);
      for (;;) {
        const start = r.pos;
        let f;
        try {
          f = readFrame(r, 16 * 1024);
        } catch (e) {
          if (e instanceof ShortRead) {
            buf = buf.slice(start);
            return;
          }
          throw e;
        }
        if (this.peerSettings === undefined) {
          if (f.type !== Frame.Settings) throw new H3ProtocolError(H3Error.MissingSettings, "control stream must start with SETTINGS");
          this.peerSettings = decodeSettings(f.payload);
        } else if (f.type === Frame.Settings || f.type === Frame.Data || f.type === Frame.Headers) {
          throw new H3ProtocolError(H3Error.FrameUnexpected, `frame 0x${f.type.toString(16)} on the control stream`);
        }
        // GOAWAY, MAX_PUSH_ID and unknown frames need no action from a WebTransport server.
      }
    };
    const guarded = (): void => {
      try {
        parse();
      } catch (e) {
        const code = e instanceof H3ProtocolError ? e.code : H3Error.FrameError;
        this.error(code, e instanceof Error ? e.message : String(e));
      }
    };
    recv.onData = (c) => {
      buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
      guarded();
    };
    recv.onEnd = () => this.error(H3Error.ClosedCriticalStream, "control stream closed");
    recv.onReset = () => this.error(H3Error.ClosedCriticalStream, "control stream reset");
    guarded();
    if (ended) this.error(H3Error.ClosedCriticalStream, "control stream closed");
  }

  private bidi(stream: BidiStream): void {
    readHead(
      stream.recv,
      (r) => {
        const type = Number(r.varBig());
        if (type === Frame.WebTransportStream) return { wt: true as const, session: r.varint() };
        // A request stream: the first frame must be HEADERS.
        r.pos = 0;
        return { wt: false as const, frame: readFrame(r, this.opts.maxFrame) };
      },
      (head, rest, ended) => {
        if (head.wt) return this.route(head.session, (s) => s.acceptBidi(stream, rest, ended), () => stream.send.reset(H3Error.StreamCreationError));
        if (head.frame.type !== Frame.Headers) {
          stream.send.reset(H3Error.FrameUnexpected);
          stream.recv.stop(H3Error.FrameUnexpected);
          return;
        }
        this.request(stream, head.frame.payload, rest, ended).catch((err: unknown) => {
          // accept() threw (auth backend failure): refuse this request, keep the connection.
          this.opts.log.warn({ err }, "extended CONNECT failed");
          this.respond(stream, 500);
        });
      },
      (e) => {
        const code = e instanceof H3ProtocolError ? e.code : H3Error.FrameError;
        stream.send.reset(code);
        stream.recv.stop(code);
      },
    );
  }

  private respond(stream: BidiStream, status: number, extra: Array<[string, string]> = [], fin = true): void {
    stream.send.write(encodeFrame(Frame.Headers, encodeFieldSection([[":status", String(status)], ...extra])));
    if (fin) stream.send.end();
  }

  private async request(stream: BidiStream, block: Uint8Array, rest: Uint8Array[], ended: boolean): Promise<void> {
    let fields;
    try {
      fields = decodeFieldSection(block, 64 * 1024);
    } catch (e) {
      const code = e instanceof QpackError ? H3Error.QpackDecompressionFailed : H3Error.MessageError;
      return this.error(code, e instanceof Error ? e.message : String(e));
    }
    const headers = new Map<string, string>();
    for (const [k, v] of fields) {
      if (k !== k.toLowerCase()) return this.malformed(stream, "uppercase header name");
      headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
    }
    const method = headers.get(":method");
    const protocol = headers.get(":protocol");
    const path = headers.get(":path");
    const authority = headers.get(":authority");
    if (method === undefined || path === undefined && method !== "CONNECT") return this.malformed(stream, "missing pseudo-headers");
    if (method !== "CONNECT") return this.respond(stream, 405, [["allow", "CONNECT"]]);
    if (protocol === undefined) return this.respond(stream, 400); // a classic CONNECT tunnel: not offered here
    if (protocol !== "webtransport") return this.respond(stream, 501);
    if (path === undefined || authority === undefined || headers.get(":scheme") !== "https") return this.malformed(stream, "extended CONNECT without :scheme/:authority/:path");
    if (this.sessions.size >= this.opts.maxSessions) return this.respond(stream, 429);

    let url: URL;
    try {
      url = new URL(`https://${authority}${path}`);
    } catch {
      return this.respond(stream, 400);
    }
    const protocols = parseProtocols(headers.get("wt-available-protocols"));
    const decision = await this.opts.accept({ url, headers, protocols, remote: this.quic.remote });
    if (!decision.ok) {
      this.respond(stream, decision.status);
      this.early.delete(stream.id);
      return;
    }
    const extra: Array<[string, string]> = [["sec-webtransport-http3-draft", "draft02"]];
    if (decision.protocol !== undefined) extra.push(["wt-protocol", `"${decision.protocol}"`]);
    this.respond(stream, 200, extra, false);
    const session = new WebTransportSession(this.quic, stream.id, stream, decision.protocol ?? "", url);
    this.sessions.set(stream.id, session);
    // closed never rejects (transport contract); the catch keeps the lint promise honest.
    session.closed.then(() => this.sessions.delete(stream.id), () => this.sessions.delete(stream.id));
    this.opts.onSession(session, decision.value);
    for (const f of this.early.get(stream.id) ?? []) f();
    this.early.delete(stream.id);
    this.capsules(stream, session, rest, ended);
  }

  private malformed(stream: BidiStream, why: string): void {
    this.opts.log.info({ reason: why }, "malformed HTTP/3 request");
    stream.send.reset(H3Error.MessageError);
    stream.recv.stop(H3Error.MessageError);
  }

  /** After the 200: DATA frames on the CONNECT stream carry capsules until it closes. */
  private capsules(stream: BidiStream, session: WebTransportSession, rest: Uint8Array[], ended: boolean): void {
    let frames: Uint8Array = rest.length > 0 ? Buffer.concat(rest) : new Uint8Array(0);
    let body: Uint8Array = new Uint8Array(0);
    const parse = (): void => {
      const r = new Reader(frames);
      for (;;) {
        const start = r.pos;
        try {
          const f = readFrame(r, this.opts.maxFrame);
          if (f.type === Frame.Data) body = body.length === 0 ? f.payload : Buffer.concat([body, f.payload]);
        } catch (e) {
          if (!(e instanceof ShortRead)) throw e;
          frames = frames.slice(start);
          break;
        }
      }
      const c = new Reader(body);
      for (;;) {
        const start = c.pos;
        try {
          const type = Number(c.varBig()); // GREASE capsule types are 62-bit
          const payload = c.bytes(c.varint());
          if (type === Capsule.CloseSession) {
            const p = new Reader(payload);
            const code = ((p.u8() << 24) | (p.u8() << 16) | (p.u8() << 8) | p.u8()) >>> 0;
            session.finish({ code, reason: Buffer.from(p.rest()).toString("utf8"), remote: true });
            stream.send.end();
          }
          // DRAIN and unknown capsules need no action.
        } catch (e) {
          if (!(e instanceof ShortRead)) throw e;
          body = body.slice(start);
          return;
        }
      }
    };
    const guarded = (): void => {
      try {
        parse();
      } catch (e) {
        if (e instanceof DecodeError || e instanceof H3ProtocolError) this.error(H3Error.MessageError, e.message);
      }
    };
    stream.recv.onData = (chunk) => {
      frames = frames.length === 0 ? chunk : Buffer.concat([frames, chunk]);
      guarded();
    };
    stream.recv.onEnd = () => session.finish({ code: 0, reason: "", remote: true });
    stream.recv.onReset = (code) => session.finish({ code, reason: "CONNECT stream reset", remote: true });
    guarded();
    if (ended) session.finish({ code: 0, reason: "", remote: true });
  }

  /** Send a stream to its session; hold it briefly if the CONNECT is still being answered. */
  private route(sessionId: number, deliver: (s: WebTransportSession) => void, refuse: () => void): void {
    const s = this.sessions.get(sessionId);
    if (s !== undefined) return deliver(s);
    const waiting = this.early.get(sessionId) ?? [];
    if (waiting.length >= 64 || this.early.size >= 16) return refuse();
    waiting.push(() => {
      const now = this.sessions.get(sessionId);
      if (now) deliver(now);
      else refuse();
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
