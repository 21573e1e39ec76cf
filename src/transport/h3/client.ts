// The client role of HTTP/3 as far as WebTransport needs it: on an established QUIC connection
// (ALPN h3) we open our control and QPACK streams, wait for the server's SETTINGS to offer
// extended CONNECT (RFC 9220 §3: a client must not send one before), send
// `CONNECT :protocol webtransport` with `wt-available-protocols`, and read the response. A 200
// with the `wt-protocol` the caller asked for yields a WebTransportSession; its CONNECT stream then
// carries capsules until the session ends. Streams the server opens for the session before the
// response is read are held by the connection (bounded) and released to it.
import type { QuicConnection } from "../quic/connection.js";
import type { Logger } from "../../util/log.js";
import { H3Connection } from "./connection.js";
import { encodeFrame, Frame, H3Error, H3ProtocolError, Setting } from "./frame.js";
import { CapsuleParser, FrameParser } from "./parser.js";
import { decodeFieldSection, encodeFieldSection } from "./qpack.js";
import { codeOf, messageOf, parseProtocols } from "./request.js";
import { closeCapsule, WebTransportSession } from "./webtransport.js";

export interface WebTransportOpenOptions {
  /** https URL: authority, path and query (e.g. `?jwt=`) as the server should see them. */
  url: URL;
  /** Protocols offered in `wt-available-protocols`, preferred first; the answer must be one of them. */
  protocols: readonly string[];
  log: Logger;
  /** Largest response head / capsule we accept (bytes). */
  maxHeaderSize?: number;
  maxCapsule?: number;
}

/** The server answered the CONNECT, but not with a session we can use (status, or no protocol). */
export class WebTransportRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * Open one WebTransport session on `quic` (a client connection with ALPN h3). Rejects if the
 * server does not offer WebTransport, refuses the CONNECT, or the connection closes first; the
 * caller bounds the wait (and closes `quic` on failure).
 */
export async function openWebTransport(quic: QuicConnection, o: WebTransportOpenOptions): Promise<WebTransportSession> {
  const h3 = new H3Connection<never>(quic, { log: o.log, maxSessions: 1, maxHeaderSize: o.maxHeaderSize, maxCapsule: o.maxCapsule });
  h3.start();
  const lost = quic.closed.then((c) => {
    throw new Error(`connection closed before the WebTransport session opened: ${c.reason || `code ${c.code}`}`);
  });
  // Both races below settle `lost` only when the connection dies; never leave it unhandled.
  lost.catch(() => undefined);
  const settings = await Promise.race([h3.settings, lost]);
  const offersWt = (settings.get(Setting.WebTransportMaxSessions) ?? 0) > 0 || settings.get(Setting.EnableWebTransportDraft) === 1;
  if (settings.get(Setting.EnableConnectProtocol) !== 1 || !offersWt) throw new WebTransportRefused("server's HTTP/3 SETTINGS do not offer WebTransport", 0);

  const stream = await Promise.race([quic.openBidi(), lost]);
  const authority = o.url.port !== "" ? `${o.url.hostname}:${o.url.port}` : o.url.hostname;
  const head = encodeFieldSection([
    [":method", "CONNECT"],
    [":protocol", "webtransport"],
    [":scheme", "https"],
    [":authority", authority],
    [":path", `${o.url.pathname}${o.url.search}`],
    ["sec-webtransport-http3-draft02", "1"],
    ["wt-available-protocols", o.protocols.map((p) => `"${p}"`).join(", ")],
  ]);
  stream.send.write(encodeFrame(Frame.Headers, head));

  const maxHeaderSize = h3.maxHeaderSize;
  const opened = new Promise<WebTransportSession>((resolve, reject) => {
    let session: WebTransportSession | undefined;
    const capsules = new CapsuleParser(h3.maxCapsule, closeCapsule(() => session, stream));
    const answer = (block: Uint8Array): void => {
      const fields = new Map(decodeFieldSection(block, maxHeaderSize));
      const status = Number(fields.get(":status"));
      // 1xx heads are interim; the final answer follows.
      if (status >= 100 && status < 200) return;
      if (status !== 200) throw new WebTransportRefused(`WebTransport CONNECT answered HTTP ${fields.get(":status") ?? "?"}`, status);
      const protocol = parseProtocols(fields.get("wt-protocol"))[0] ?? "";
      if (o.protocols.length > 0 && !o.protocols.includes(protocol)) throw new WebTransportRefused(`server negotiated no offered protocol (wt-protocol ${JSON.stringify(fields.get("wt-protocol") ?? "")})`, status);
      session = new WebTransportSession(quic, stream.id, stream, protocol, o.url);
      h3.register(session);
      h3.releaseEarly(stream.id);
      resolve(session);
    };
    const parser = new FrameParser({
      start: (type) => {
        if (session === undefined && type !== Frame.Headers && type !== Frame.Data) return "skip";
        if (type === Frame.Headers) return { buffer: maxHeaderSize };
        if (session === undefined) throw new H3ProtocolError(H3Error.FrameUnexpected, "DATA before the response HEADERS");
        return type === Frame.Data ? "stream" : "skip";
      },
      frame: (type, payload) => {
        // Trailers after the session opened carry nothing a WebTransport session needs.
        if (type === Frame.Headers && session === undefined) answer(payload);
      },
      data: (_type, chunk) => capsules.push(chunk),
    });
    const fail = (e: unknown): void => {
      stream.recv.onData = null;
      if (session === undefined) {
        stream.send.reset(H3Error.RequestCancelled);
        stream.recv.stop(H3Error.RequestCancelled);
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      stream.send.reset(codeOf(e));
      stream.recv.stop(codeOf(e));
      session.finish({ code: codeOf(e), reason: messageOf(e), remote: false });
    };
    stream.recv.onData = (c) => {
      try {
        parser.push(c);
      } catch (e) {
        fail(e);
      }
    };
    stream.recv.onEnd = () => {
      if (session === undefined) return fail(new Error("CONNECT stream ended without a response"));
      session.finish({ code: 0, reason: "", remote: true });
    };
    stream.recv.onReset = (code) => {
      if (session === undefined) return fail(new Error(`CONNECT stream reset (code 0x${code.toString(16)})`));
      session.finish({ code, reason: "CONNECT stream reset", remote: true });
    };
  });
  return Promise.race([opened, lost]);
}
