// Dialing a peer relay: the URL's scheme picks the transport, and each yields our Session.
// `https://` is WebTransport over HTTP/3 on our QUIC engine, falling back to QMux over WebSocket
// (wss) on the peer's TCP port when UDP does not get through (no answer, no WebTransport there) —
// never when the peer's certificate failed verification. `http://` is ws; `moql://` is raw QUIC
// with the moq-lite-05 ALPN, its path and token carried in SETUP.
import { readFileSync } from "node:fs";
import type { Config } from "../config/types.js";
import type { Session } from "../transport/session.js";
import { dialWebSocket } from "../transport/websocket/client.js";
import type { Logger } from "../util/log.js";
import { QuicDialer, UdpDialError, type Trust } from "./dial-quic.js";

export type { Trust } from "./dial-quic.js";

export const PEER_PROTOCOL = "moq-lite-05";

/** Of a dial's time, what the WebTransport attempt may use before the WebSocket fallback. */
const UDP_SHARE = 0.5;

/** Read the trust settings once (the CA file is re-read at each start, not behind the config's back). */
export function trustOf(config: Config): Trust {
  const root = config.cluster.tls_root ?? config.tls.root;
  return { ca: root !== undefined ? readFileSync(root, "utf8") : undefined, insecure: config.cluster.insecure };
}

/** A link's round-trip time for /nodes (ms, rounded to 0.1): QUIC's estimate, or the WebSocket ping. */
export function rttOf(s: { readonly isClosed: boolean; readonly transport: Session } | undefined): number | null {
  const rtt = s !== undefined && !s.isClosed ? s.transport.rtt?.() : undefined;
  return rtt !== undefined && Number.isFinite(rtt) ? Math.round(rtt * 10) / 10 : null;
}

export class Dialer {
  private readonly quic: QuicDialer;
  /** Per https:// peer, how the last link was made: a change is logged once, not every dial. */
  private readonly via = new Map<string, "webtransport" | "websocket">();

  constructor(
    private readonly config: Config,
    private readonly trust: Trust,
    private readonly log: Logger,
  ) {
    this.quic = new QuicDialer(config, trust, log);
  }

  /** Open a transport session to `url` presenting `jwt`; rejects with the reason on failure. */
  async dial(url: URL, jwt: string | undefined, fingerprint: string | undefined, timeoutMs: number): Promise<Session> {
    const target = new URL(url);
    if (jwt !== undefined) target.searchParams.set("jwt", jwt);
    // At every dial, retries included: an unverified peer link is never quiet about it.
    if (this.trust.insecure) this.log.warn({ peer: url.href }, "dialing a cluster peer without verifying its certificate (insecure = true)");
    if (url.protocol === "moql:") return this.quic.raw(target, PEER_PROTOCOL, fingerprint, timeoutMs);
    if (url.protocol === "http:") return this.webSocket(target, fingerprint, timeoutMs);
    const started = Date.now();
    const key = url.href;
    let why: string;
    try {
      const s = await this.quic.webTransport(target, PEER_PROTOCOL, fingerprint, Math.round(timeoutMs * UDP_SHARE));
      if (this.via.get(key) === "websocket") this.log.info({ peer: key }, "cluster peer reachable over WebTransport again");
      this.via.set(key, "webtransport");
      return s;
    } catch (err) {
      if (!(err instanceof UdpDialError) || !err.fallback) throw err;
      why = err.message;
    }
    const s = await this.webSocket(target, fingerprint, Math.max(1000, timeoutMs - (Date.now() - started)));
    if (this.via.get(key) !== "websocket") this.log.warn({ peer: key, err: why }, "WebTransport dial to cluster peer failed; linked over QMux/WebSocket (wss) instead");
    this.via.set(key, "websocket");
    return s;
  }

  private webSocket(target: URL, fingerprint: string | undefined, timeoutMs: number): Promise<Session> {
    const ws = new URL(target);
    ws.protocol = target.protocol === "http:" ? "ws:" : "wss:";
    const q = this.config.server.quic;
    return dialWebSocket({
      url: ws,
      protocols: [PEER_PROTOCOL],
      ca: this.trust.ca,
      fingerprint,
      insecure: this.trust.insecure,
      timeoutMs,
      pingInterval: this.config.http.ping_interval,
      streamWindow: q.stream_window,
      connectionWindow: q.connection_window,
      maxStreams: Math.min(q.max_streams, 10_000),
    });
  }

  close(): Promise<void> {
    return this.quic.close();
  }
}
