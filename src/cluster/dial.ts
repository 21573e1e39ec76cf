// Dialing a peer relay: the URL's scheme picks the transport. `https://` is QMux over WebSocket
// (wss) on the peer's TCP port (this relay has no HTTP/3 client yet, so the WebTransport attempt
// the issue describes is skipped and the fallback is the path); `http://` is ws; `moql://` is raw
// QUIC with the moq-lite-05 ALPN, its path and token carried in SETUP. Each yields our Session.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { Config } from "../config/types.js";
import { QuicEndpoint } from "../transport/quic/endpoint.js";
import { loadNative } from "../transport/quic/native.js";
import type { Session } from "../transport/session.js";
import { dialWebSocket } from "../transport/websocket/client.js";
import type { Logger } from "../util/log.js";

export const PEER_PROTOCOL = "moq-lite-05";

export interface Trust {
  /** CA bundle (PEM) from tls_root; undefined = the platform's roots (node:tls adds NODE_EXTRA_CA_CERTS). */
  ca?: string;
  insecure: boolean;
}

/** Read the trust settings once (the CA file is re-read at each start, not behind the config's back). */
export function trustOf(config: Config): Trust {
  const root = config.cluster.tls_root ?? config.tls.root;
  return { ca: root !== undefined ? readFileSync(root, "utf8") : undefined, insecure: config.cluster.insecure };
}

/**
 * The CA bundle our QUIC engine verifies against when no tls_root is set: node's bundled roots plus
 * NODE_EXTRA_CA_CERTS, which node:tls (and so the WebSocket dial) trusts on its own; BoringSSL in
 * the QUIC engine only knows what it is given.
 */
function platformRoots(): string {
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  let pem = rootCertificates.join("\n");
  if (extra !== undefined && extra !== "") {
    try {
      pem += `\n${readFileSync(extra, "utf8")}`;
    } catch {
      // node:tls warns about an unreadable file itself.
    }
  }
  return pem;
}

export class Dialer {
  private endpoint: Promise<QuicEndpoint> | undefined;

  constructor(
    private readonly config: Config,
    private readonly trust: Trust,
    private readonly log: Logger,
  ) {}

  /** Open a transport session to `url` presenting `jwt`; rejects with the reason on failure. */
  async dial(url: URL, jwt: string | undefined, fingerprint: string | undefined, timeoutMs: number): Promise<Session> {
    const target = new URL(url);
    if (jwt !== undefined) target.searchParams.set("jwt", jwt);
    if (url.protocol === "moql:") return this.dialQuic(target, fingerprint, timeoutMs);
    target.protocol = url.protocol === "http:" ? "ws:" : "wss:";
    const q = this.config.server.quic;
    return dialWebSocket({
      url: target,
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

  private async dialQuic(target: URL, fingerprint: string | undefined, timeoutMs: number): Promise<Session> {
    if (loadNative() === null) throw new Error("moql:// needs QUIC, which is unavailable on this platform");
    this.endpoint ??= QuicEndpoint.bind({ host: "0.0.0.0", port: 0, quic: this.config.server.quic, log: this.log });
    const ep = await this.endpoint;
    const host = target.hostname.replace(/^\[|\]$/g, "");
    const conn = ep.connect({
      host,
      port: Number(target.port || 443),
      serverName: host,
      alpns: [PEER_PROTOCOL],
      caPem: this.trust.insecure || fingerprint !== undefined ? undefined : (this.trust.ca ?? platformRoots()),
      fingerprints: fingerprint !== undefined ? [fingerprint] : undefined,
      insecure: this.trust.insecure,
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QUIC handshake timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const c = await Promise.race([conn, timeout]);
      c.url = target;
      return c;
    } finally {
      clearTimeout(timer);
      // A handshake that lost the race still settles; close it if it succeeds late.
      conn.then(
        (c) => {
          if (c.url.href !== target.href) c.close(0, "dial timed out");
        },
        () => undefined,
      );
    }
  }

  async close(): Promise<void> {
    const ep = this.endpoint;
    this.endpoint = undefined;
    if (ep !== undefined) await (await ep).close();
  }
}
