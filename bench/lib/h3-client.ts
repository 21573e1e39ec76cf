// The smallest WebTransport client the benchmark needs, on our own QUIC client role: HTTP/3
// SETTINGS, one extended CONNECT, then the session's streams through the same
// WebTransportSession class the server uses (it only depends on which side opened a stream).
import type { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { encodeFrame, encodeSettings, Frame, readFrame, Setting, StreamType } from "../../src/transport/h3/frame.js";
import { decodeFieldSection, encodeFieldSection } from "../../src/transport/h3/qpack.js";
import { WebTransportSession } from "../../src/transport/h3/webtransport.js";
import { Reader, ShortRead, Writer } from "../../src/util/bytes.js";

export interface WtDial {
  host: string;
  port: number;
  path: string;
  protocol: string;
}

/** Dial `https://host:port/path` over WebTransport offering one wt-protocol. */
export async function connectWebTransport(ep: QuicEndpoint, d: WtDial): Promise<WebTransportSession> {
  const quic = await ep.connect({ host: d.host, port: d.port, serverName: "localhost", alpns: ["h3"], insecure: true });
  const control = await quic.openUni();
  control.write(new Writer(2).varint(StreamType.Control).finish());
  control.write(
    encodeSettings(
      new Map([
        [Setting.QpackMaxTableCapacity, 0],
        [Setting.QpackBlockedStreams, 0],
        [Setting.EnableConnectProtocol, 1],
        [Setting.H3Datagram, 1],
        [Setting.EnableWebTransportDraft, 1],
        [Setting.WebTransportMaxSessions, 1],
      ]),
    ),
  );
  const req = await quic.openBidi();
  const url = new URL(`https://${d.host}:${d.port}${d.path}`);
  req.send.write(
    encodeFrame(
      Frame.Headers,
      encodeFieldSection([
        [":method", "CONNECT"],
        [":protocol", "webtransport"],
        [":scheme", "https"],
        [":authority", url.host],
        [":path", url.pathname],
        ["wt-available-protocols", `"${d.protocol}"`],
      ]),
    ),
  );
  // The response HEADERS; anything after it on this stream is capsules, which a viewer ignores.
  const status = await new Promise<{ status: string; protocol: string }>((resolve, reject) => {
    let buf: Uint8Array = new Uint8Array(0);
    req.recv.onData = (c) => {
      buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
      try {
        const f = readFrame(new Reader(buf), 64 * 1024);
        const fields = new Map(decodeFieldSection(f.payload));
        req.recv.onData = () => undefined;
        resolve({ status: fields.get(":status") ?? "", protocol: (fields.get("wt-protocol") ?? "").replace(/"/g, "") });
      } catch (e) {
        if (!(e instanceof ShortRead)) reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    req.recv.onReset = (code) => reject(new Error(`CONNECT stream reset (${code})`));
    quic.closed.then((i) => reject(new Error(`connection closed: ${i.reason}`)), reject);
  });
  if (status.status !== "200") {
    quic.close(0, "");
    throw new Error(`extended CONNECT answered ${status.status}`);
  }
  const session = new WebTransportSession(quic, req.id, req, status.protocol, url);
  routeUni(quic, session);
  return session;
}

/** Strip the WebTransport prefix (0x54 · session id) from the server's uni streams. */
function routeUni(quic: QuicConnection, session: WebTransportSession): void {
  quic.onUni = (recv) => {
    let buf: Uint8Array = new Uint8Array(0);
    recv.onData = (c) => {
      buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
      const r = new Reader(buf);
      try {
        const type = Number(r.varBig());
        if (type !== StreamType.WebTransport) {
          recv.onData = () => undefined; // control and QPACK streams: nothing for a viewer
          return;
        }
        r.varint();
      } catch (e) {
        if (e instanceof ShortRead) return;
        throw e;
      }
      const rest = buf.subarray(r.pos);
      recv.onData = null;
      session.acceptUni(recv, rest.length > 0 ? [rest] : [], false);
    };
  };
  quic.onBidi = (b) => b.send.reset(0);
}
