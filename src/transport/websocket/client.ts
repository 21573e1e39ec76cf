// The client role of QMux over WebSocket (wss/ws): we open the socket ourselves (so TLS trust is
// ours to set: a CA bundle, a pinned leaf fingerprint, or the platform's roots), offer moq-lite-05
// on each QMux draft, and hand the open socket to @moq/qmux's client half. The result is the same
// Session every other transport produces. Keep-alive pings detect a vanished peer.
import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import QmuxSession from "@moq/qmux";
import { WebSocket, type ClientOptions } from "ws";
import { detach } from "../../util/async.js";
import { KeepAlive } from "./keepalive.js";
import { qmuxConfig, WebSocketSession, type QmuxLike } from "./session.js";
import { appProtocol, QMUX_VERSIONS } from "./subprotocol.js";

export interface WebSocketDialOptions {
  /** ws:// or wss:// URL (path and query as the server should see them). */
  url: URL;
  /** MoQ protocols to offer, preferred first (each on every QMux draft). */
  protocols: readonly string[];
  /** PEM CA bundle to verify against instead of the platform's roots. */
  ca?: string;
  /** Pinned SHA-256 (lowercase hex) of the server's leaf certificate: verified instead of the chain. */
  fingerprint?: string;
  /** Skip verification entirely. */
  insecure?: boolean;
  /** Bound on the TCP + TLS + upgrade handshake (ms). */
  timeoutMs: number;
  /** Ping interval (ms); the peer is dropped after six silent intervals. 0 = off. */
  pingInterval: number;
  streamWindow: number;
  connectionWindow: number;
  maxStreams: number;
}

/** A refused or failed dial, with the HTTP status when the server answered one. */
export class DialError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Dial; resolves with a running Session once the upgrade succeeded. */
export async function dialWebSocket(o: WebSocketDialOptions): Promise<WebSocketSession> {
  const offered = QMUX_VERSIONS.flatMap((q) => o.protocols.map((p) => `${q}.${p}`));
  const pinned = o.fingerprint;
  const opts: Record<string, unknown> = {
    handshakeTimeout: o.timeoutMs,
    // A pin replaces chain verification (self-signed peers); the check below runs instead.
    rejectUnauthorized: !(o.insecure === true || pinned !== undefined),
    maxPayload: 1 << 20,
    perMessageDeflate: false,
  };
  // node:tls treats a key set to undefined differently from an absent one: set only what applies.
  if (o.ca !== undefined) opts.ca = o.ca;
  if (pinned !== undefined) opts.checkServerIdentity = (_host: string, cert: PeerCertificate) => (leafSha256(cert) === pinned ? undefined : new Error(`peer certificate ${leafSha256(cert)} does not match the pinned fingerprint`));
  // ws types checkServerIdentity loosely; node:tls calls it with (host, PeerCertificate).
  const ws = new WebSocket(o.url, offered, opts as unknown as ClientOptions);
  const qmuxOptions = { config: qmuxConfig(o) };
  const qmux = await new Promise<QmuxSession>((resolve, reject) => {
    const fail = (err: Error): void => {
      ws.removeAllListeners("open");
      ws.terminate();
      reject(err);
    };
    ws.once("open", () => {
      ws.removeAllListeners("unexpected-response");
      ws.removeAllListeners("error");
      ws.on("error", () => undefined); // reported through the session's close
      // qmux takes the socket's messages over here, in the 'open' event itself: the server's
      // first record (its transport parameters) can arrive before an awaiting caller resumes,
      // and a message with no listener is gone (the session then fails "QX_TRANSPORT_PARAMETERS
      // must be the first frame").
      resolve(new QmuxSession(ws as unknown as ConstructorParameters<typeof QmuxSession>[0], qmuxOptions));
    });
    ws.once("unexpected-response", (_req, res) => fail(new DialError(`HTTP ${res.statusCode ?? "?"} ${res.statusMessage ?? ""}`.trim(), res.statusCode)));
    ws.once("error", (err) => fail(new DialError(err.message)));
  });
  const sock = (ws as unknown as { _socket?: { remoteAddress?: string; remotePort?: number } })._socket;
  const remote = `${sock?.remoteAddress ?? o.url.hostname}:${sock?.remotePort ?? o.url.port}`;
  const keepAlive = new KeepAlive(o.pingInterval);
  const session = new WebSocketSession(qmux as unknown as QmuxLike, { subprotocol: ws.protocol, protocol: appProtocol(ws.protocol), url: o.url, remote, terminate: () => ws.terminate(), rtt: () => keepAlive.rtt(ws) });
  keepAlive.watch(ws, () => session.expire("keep-alive timeout"));
  // A first round trip now, so a peer link reports its RTT before the first ping interval.
  keepAlive.probe(ws);
  detach(
    session.closed.then(() => {
      keepAlive.close();
      setTimeout(() => ws.terminate(), 1000).unref();
    }),
    () => ws.terminate(),
  );
  return session;
}

function leafSha256(cert: PeerCertificate): string {
  return createHash("sha256").update(cert.raw).digest("hex");
}
