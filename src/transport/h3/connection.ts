// The server side of HTTP/3 as far as WebTransport needs it: control and QPACK streams, SETTINGS,
// extended CONNECT (`:protocol webtransport`) on request streams, and routing of WebTransport
// streams and datagrams to their sessions. Anything else gets a real HTTP status or H3 error.
// Every stream is parsed incrementally (parser.ts) with a cap on what may be buffered: request
// heads by max_header_size, capsules by max_capsule_size, control frames by 16 KiB.
import type { BidiStream, RecvStream, SendStream } from "../session.js";
import type { QuicConnection } from "../quic/connection.js";
import { ByteQueue } from "../../util/byte-queue.js";
import { Reader, Writer } from "../../util/bytes.js";
import type { Logger } from "../../util/log.js";
import { decodeSettings, encodeFrame, encodeSettings, Frame, H3Error, H3ProtocolError, Setting, StreamType } from "./frame.js";
import { CapsuleParser, FrameParser } from "./parser.js";
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
  /** Largest request head: the HEADERS frame and its decoded field section (bytes). Default 16 KiB. */
  maxHeaderSize?: number;
  /** Largest capsule on a CONNECT stream (bytes). Default 64 KiB. */
  maxCapsule?: number;
  accept(req: ConnectRequest): Promise<ConnectDecision<T>>;
  onSession(session: WebTransportSession, value: T): void;
}

/** Control-stream frames we read (SETTINGS, GOAWAY, MAX_PUSH_ID) are small. */
const MAX_CONTROL_FRAME = 16 * 1024;

/** Parse an RFC 8941 list of strings: `"moq-lite-05", "moq-lite-04"`. */
export function parseProtocols(v: string | undefined): string[] {
  if (v === undefined) return [];
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.startsWith('"') && s.endsWith('"') && s.length >= 2)
    .map((s) => s.slice(1, -1));
}

const codeOf = (e: unknown): number => (e instanceof H3ProtocolError ? e.code : H3Error.FrameError);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

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
  private readonly maxHeaderSize: number;
  /** Our control stream, once open (GOAWAY goes there). */
  private controlOut: SendStream | undefined;
  /** The request stream id after the highest one seen: what a GOAWAY names. */
  private nextRequest = 0;
  /** Set once GOAWAY was decided: requests on streams at or above it are rejected. */
  private goingAway: number | undefined;
  private readonly maxCapsule: number;

  constructor(
    private readonly quic: QuicConnection,
    private readonly opts: H3Options<T>,
  ) {
    this.maxHeaderSize = opts.maxHeaderSize ?? 16 * 1024;
    this.maxCapsule = opts.maxCapsule ?? 64 * 1024;
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

  /** A request stream: HEADERS (capped), then — for an accepted CONNECT — DATA frames carrying capsules. */
  private requestStream(stream: BidiStream, first: Uint8Array[], endedAlready: boolean): void {
    if (this.goingAway !== undefined && stream.id >= this.goingAway) {
      stream.send.reset(H3Error.RequestRejected);
      stream.recv.stop(H3Error.RequestRejected);
      return;
    }
    this.nextRequest = Math.max(this.nextRequest, stream.id + 4);
    let state: "head" | "vetting" | "open" | "done" = "head";
    let peerEnded = false;
    let session: WebTransportSession | undefined;
    const capsules = new CapsuleParser(this.maxCapsule, (type, payload) => {
      if (type !== Capsule.CloseSession || session === undefined) return; // DRAIN and unknown capsules need no action
      if (payload.byteLength < 4) throw new H3ProtocolError(H3Error.MessageError, "CLOSE_WEBTRANSPORT_SESSION shorter than its code");
      const p = new Reader(payload);
      const code = ((p.u8() << 24) | (p.u8() << 16) | (p.u8() << 8) | p.u8()) >>> 0;
      session.finish({ code, reason: Buffer.from(p.rest()).toString("utf8"), remote: true });
      stream.send.end();
    });
    const finish = (): void => {
      state = "done";
      session?.finish({ code: 0, reason: "", remote: true });
    };
    const parser = new FrameParser({
      start: (type) => {
        if (state === "head") {
          if (type !== Frame.Headers) throw new H3ProtocolError(H3Error.FrameUnexpected, `request stream starts with frame 0x${type.toString(16)}`);
          return { buffer: this.maxHeaderSize };
        }
        if (type === Frame.Data) return "stream";
        // Trailers and unknown frames carry nothing a WebTransport session needs; still capped.
        return type === Frame.Headers ? { buffer: this.maxHeaderSize } : "skip";
      },
      frame: (type, payload) => {
        if (state !== "head" || type !== Frame.Headers) return;
        state = "vetting";
        // Nothing more is parsed until the CONNECT is answered; flow control holds the rest.
        parser.pause();
        stream.recv.pause();
        this.request(stream, payload).then(
          (s) => {
            if (state !== "vetting") return;
            if (s === undefined) {
              // Refused with a complete response: the rest of the request is not wanted.
              state = "done";
              stream.recv.stop(H3Error.NoError);
              return;
            }
            session = s;
            state = "open";
            stream.recv.resume();
            feed(new Uint8Array(0), () => parser.resume());
            if (peerEnded && state === "open") finish();
          },
          (err: unknown) => {
            // accept() threw (auth backend failure): refuse this request, keep the connection.
            this.opts.log.warn({ err }, "extended CONNECT failed");
            state = "done";
            this.respond(stream, 500);
            stream.recv.stop(H3Error.NoError);
          },
        );
      },
      data: (_type, chunk) => capsules.push(chunk),
    });
    const fail = (e: unknown): void => {
      if (state === "done") return;
      const was = state;
      state = "done";
      stream.recv.onData = null;
      const code = codeOf(e);
      stream.send.reset(code);
      stream.recv.stop(code);
      // A broken CONNECT stream ends its session only; other sessions on the connection carry on.
      if (was !== "head") this.opts.log.info({ code, reason: messageOf(e) }, "WebTransport CONNECT stream error");
      session?.finish({ code, reason: messageOf(e), remote: false });
    };
    function feed(c: Uint8Array, run = () => parser.push(c)): void {
      try {
        run();
      } catch (e) {
        fail(e);
      }
    }
    stream.recv.onData = (c) => feed(c);
    const ended = (): void => {
      // A frame cut short is a frame error (RFC 9114 §7.1); a stream without HEADERS is incomplete.
      if (state === "head") return fail(parser.atBoundary ? new H3ProtocolError(H3Error.RequestIncomplete, "request stream ended before its HEADERS") : new H3ProtocolError(H3Error.FrameError, "request stream ended inside a frame"));
      peerEnded = true;
      if (state === "open") finish();
    };
    stream.recv.onEnd = ended;
    stream.recv.onReset = (code) => {
      state = "done";
      session?.finish({ code, reason: "CONNECT stream reset", remote: true });
    };
    for (const c of first) feed(c);
    if (endedAlready) ended();
  }

  private respond(stream: BidiStream, status: number, extra: Array<[string, string]> = [], fin = true): undefined {
    stream.send.write(encodeFrame(Frame.Headers, encodeFieldSection([[":status", String(status)], ...extra])));
    if (fin) stream.send.end();
    return undefined;
  }

  /** Vet a request's head; a WebTransport session if it was accepted, undefined otherwise. */
  private async request(stream: BidiStream, block: Uint8Array): Promise<WebTransportSession | undefined> {
    let fields;
    try {
      fields = decodeFieldSection(block, this.maxHeaderSize);
    } catch (e) {
      const code = e instanceof QpackError ? H3Error.QpackDecompressionFailed : H3Error.MessageError;
      this.error(code, messageOf(e));
      return undefined;
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
    if (method === undefined || (path === undefined && method !== "CONNECT")) return this.malformed(stream, "missing pseudo-headers");
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
      return undefined;
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
    return session;
  }

  private malformed(stream: BidiStream, why: string): undefined {
    this.opts.log.info({ reason: why }, "malformed HTTP/3 request");
    stream.send.reset(H3Error.MessageError);
    stream.recv.stop(H3Error.MessageError);
    return undefined;
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
