// The server's request streams: HEADERS (capped), vetting of an extended CONNECT
// (`:protocol webtransport`), the response, and — for an accepted CONNECT — DATA frames carrying
// capsules until the session ends. Everything that is not a WebTransport CONNECT gets a real HTTP
// status or H3 error. The connection (connection.ts) owns the sessions and the GOAWAY bookkeeping.
import type { BidiStream } from "../session.js";
import type { QuicConnection } from "../quic/connection.js";
import type { Logger } from "../../util/log.js";
import { encodeFrame, Frame, H3Error, H3ProtocolError } from "./frame.js";
import { CapsuleParser, FrameParser } from "./parser.js";
import { decodeFieldSection, encodeFieldSection, QpackError } from "./qpack.js";
import { closeCapsule, WebTransportSession } from "./webtransport.js";

export interface ConnectRequest {
  url: URL;
  headers: Map<string, string>;
  /** Parsed `wt-available-protocols`, in the client's order. */
  protocols: string[];
  remote: string;
}

export type ConnectDecision<T> = { ok: true; protocol?: string; value: T } | { ok: false; status: number; reason: string };

/** What a request stream needs from its connection. */
export interface RequestHost<T> {
  readonly quic: QuicConnection;
  readonly log: Logger;
  readonly maxHeaderSize: number;
  readonly maxCapsule: number;
  /** Whether another session would exceed the connection's limit. */
  full(): boolean;
  accept(req: ConnectRequest): Promise<ConnectDecision<T>>;
  /** A CONNECT was accepted: track the session, hand it to the application, release early streams. */
  opened(session: WebTransportSession, value: T): void;
  /** A CONNECT was refused: streams that arrived early for it are refused too. */
  refused(id: number): void;
  /** Close the whole connection (a QPACK error is connection-wide). */
  error(code: number, reason: string): void;
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

export const codeOf = (e: unknown): number => (e instanceof H3ProtocolError ? e.code : H3Error.FrameError);
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A request stream, parsed from its first byte (`first` holds what already arrived). */
export function serveRequest<T>(host: RequestHost<T>, stream: BidiStream, first: Uint8Array[], endedAlready: boolean): void {
  let state: "head" | "vetting" | "open" | "done" = "head";
  let peerEnded = false;
  let session: WebTransportSession | undefined;
  const capsules = new CapsuleParser(host.maxCapsule, closeCapsule(() => session, stream));
  const finish = (): void => {
    state = "done";
    session?.finish({ code: 0, reason: "", remote: true });
  };
  const parser = new FrameParser({
    start: (type) => {
      if (state === "head") {
        if (type !== Frame.Headers) throw new H3ProtocolError(H3Error.FrameUnexpected, `request stream starts with frame 0x${type.toString(16)}`);
        return { buffer: host.maxHeaderSize };
      }
      if (type === Frame.Data) return "stream";
      // Trailers and unknown frames carry nothing a WebTransport session needs; still capped.
      return type === Frame.Headers ? { buffer: host.maxHeaderSize } : "skip";
    },
    frame: (type, payload) => {
      if (state !== "head" || type !== Frame.Headers) return;
      state = "vetting";
      // Nothing more is parsed until the CONNECT is answered; flow control holds the rest.
      parser.pause();
      stream.recv.pause();
      request(host, stream, payload).then(
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
          host.log.warn({ err }, "extended CONNECT failed");
          state = "done";
          respond(stream, 500);
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
    if (was !== "head") host.log.info({ code, reason: messageOf(e) }, "WebTransport CONNECT stream error");
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

function respond(stream: BidiStream, status: number, extra: Array<[string, string]> = [], fin = true): undefined {
  stream.send.write(encodeFrame(Frame.Headers, encodeFieldSection([[":status", String(status)], ...extra])));
  if (fin) stream.send.end();
  return undefined;
}

function malformed(host: RequestHost<unknown>, stream: BidiStream, why: string): undefined {
  host.log.info({ reason: why }, "malformed HTTP/3 request");
  stream.send.reset(H3Error.MessageError);
  stream.recv.stop(H3Error.MessageError);
  return undefined;
}

/** Vet a request's head; a WebTransport session if it was accepted, undefined otherwise. */
async function request<T>(host: RequestHost<T>, stream: BidiStream, block: Uint8Array): Promise<WebTransportSession | undefined> {
  let fields;
  try {
    fields = decodeFieldSection(block, host.maxHeaderSize);
  } catch (e) {
    const code = e instanceof QpackError ? H3Error.QpackDecompressionFailed : H3Error.MessageError;
    host.error(code, messageOf(e));
    return undefined;
  }
  const headers = new Map<string, string>();
  for (const [k, v] of fields) {
    if (k !== k.toLowerCase()) return malformed(host, stream, "uppercase header name");
    headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
  }
  const method = headers.get(":method");
  const protocol = headers.get(":protocol");
  const path = headers.get(":path");
  const authority = headers.get(":authority");
  if (method === undefined || (path === undefined && method !== "CONNECT")) return malformed(host, stream, "missing pseudo-headers");
  if (method !== "CONNECT") return respond(stream, 405, [["allow", "CONNECT"]]);
  if (protocol === undefined) return respond(stream, 400); // a classic CONNECT tunnel: not offered here
  if (protocol !== "webtransport") return respond(stream, 501);
  if (path === undefined || authority === undefined || headers.get(":scheme") !== "https") return malformed(host, stream, "extended CONNECT without :scheme/:authority/:path");
  if (host.full()) return respond(stream, 429);

  let url: URL;
  try {
    url = new URL(`https://${authority}${path}`);
  } catch {
    return respond(stream, 400);
  }
  const protocols = parseProtocols(headers.get("wt-available-protocols"));
  const decision = await host.accept({ url, headers, protocols, remote: host.quic.remote });
  if (!decision.ok) {
    respond(stream, decision.status);
    host.refused(stream.id);
    return undefined;
  }
  const extra: Array<[string, string]> = [["sec-webtransport-http3-draft", "draft02"]];
  if (decision.protocol !== undefined) extra.push(["wt-protocol", `"${decision.protocol}"`]);
  respond(stream, 200, extra, false);
  const session = new WebTransportSession(host.quic, stream.id, stream, decision.protocol ?? "", url);
  host.opened(session, decision.value);
  return session;
}
