// Dialing a peer over UDP on our own QUIC engine: raw QUIC with the moq-lite-05 ALPN (`moql://`),
// or WebTransport over HTTP/3 (`https://`). Both verify the peer the way the WebSocket dial does:
// the [cluster] tls_root bundle, else node's roots plus NODE_EXTRA_CA_CERTS, or a pinned leaf
// fingerprint, or nothing with `insecure = true`. A failure says whether a WebSocket dial may
// stand in: a peer that does not answer on UDP may, a certificate that failed verification may not.
import { lookup } from "node:dns/promises";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { rootCertificates } from "node:tls";
import type { Config } from "../config/types.js";
import { openWebTransport, WebTransportRefused } from "../transport/h3/client.js";
import type { QuicConnection } from "../transport/quic/connection.js";
import { QuicDialError, QuicEndpoint, type ConnectOptions } from "../transport/quic/endpoint.js";
import { loadNative } from "../transport/quic/native.js";
import type { Session } from "../transport/session.js";
import { detach } from "../util/async.js";
import type { Logger } from "../util/log.js";

export interface Trust {
  /** CA bundle (PEM) from tls_root; undefined = the platform's roots (node:tls adds NODE_EXTRA_CA_CERTS). */
  ca?: string;
  insecure: boolean;
}

/** A UDP dial that failed; `fallback` = the peer may still be reached over WebSocket. */
export class UdpDialError extends Error {
  constructor(
    message: string,
    readonly fallback: boolean,
  ) {
    super(message);
  }
}

/** TLS alerts travel as CRYPTO_ERROR 0x100 + alert; 120 (no_application_protocol) is not about trust. */
const isTrustFailure = (code: number): boolean => code >= 0x100 && code <= 0x1ff && code !== 0x100 + 120;

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

/**
 * A killed peer sends no CONNECTION_CLOSE, and ICMP port-unreachable never reaches an unconnected
 * UDP socket: only the idle timeout notices. Peer links ping often and time out early, so a dead
 * relay's routes are dropped within seconds (the idle timeout is the lower of both sides').
 */
export const PEER_IDLE_TIMEOUT = 3000;
const PEER_KEEP_ALIVE = 750;

function peerQuic(config: Config): Config["server"]["quic"] {
  const q = config.server.quic;
  return { ...q, idle_timeout: Math.min(q.idle_timeout, PEER_IDLE_TIMEOUT), keep_alive: q.keep_alive > 0 ? Math.min(q.keep_alive, PEER_KEEP_ALIVE) : PEER_KEEP_ALIVE };
}

export class QuicDialer {
  private readonly endpoints = new Map<4 | 6, Promise<QuicEndpoint>>();
  private roots: string | undefined;

  constructor(
    private readonly config: Config,
    private readonly trust: Trust,
    private readonly log: Logger,
  ) {}

  /** Whether this platform has the QUIC engine at all. */
  static available(): boolean {
    return loadNative() !== null;
  }

  /** Raw QUIC with the moq-lite-05 ALPN; path and token travel in SETUP (target is kept as the URL). */
  async raw(target: URL, alpn: string, fingerprint: string | undefined, timeoutMs: number): Promise<Session> {
    const conn = await this.handshake(target, "alpn", [alpn], fingerprint, timeoutMs);
    conn.url = target;
    return conn;
  }

  /** WebTransport over HTTP/3 offering `protocol`; the session's URL is the https target. */
  async webTransport(target: URL, protocol: string, fingerprint: string | undefined, timeoutMs: number): Promise<Session> {
    const deadline = Date.now() + timeoutMs;
    const conn = await this.handshake(target, "h3", ["h3"], fingerprint, timeoutMs);
    const q = this.config.limits;
    const session = openWebTransport(conn, { url: target, protocols: [protocol], log: this.log, maxHeaderSize: q.max_header_size, maxCapsule: q.max_capsule_size });
    try {
      const s = await within(session, deadline - Date.now(), "WebTransport CONNECT");
      // One session per connection: when it ends, the connection goes too (after its close capsule).
      detach(
        s.closed.then(() => setTimeout(() => conn.close(0, "session closed"), 1000).unref()),
        () => conn.close(0, "session closed"),
      );
      return s;
    } catch (err) {
      conn.close(0x10c, "WebTransport CONNECT failed"); // H3_REQUEST_CANCELLED
      // A server that answers but will not hold this session: 401/403 are about the token, which a
      // WebSocket dial would present as well; anything else (no WebTransport, no protocol) may work there.
      if (err instanceof WebTransportRefused) throw new UdpDialError(err.message, err.status !== 401 && err.status !== 403);
      throw new UdpDialError(err instanceof Error ? err.message : String(err), true);
    }
  }

  /** A verified QUIC handshake to the target's host and port within `timeoutMs`. */
  private async handshake(target: URL, what: string, alpns: string[], fingerprint: string | undefined, timeoutMs: number): Promise<QuicConnection> {
    if (!QuicDialer.available()) throw new UdpDialError("QUIC is unavailable on this platform", true);
    const deadline = Date.now() + timeoutMs;
    const name = target.hostname.replace(/^\[|\]$/g, "");
    let host = name;
    if (isIP(name) === 0) {
      // quiche needs an address: resolve the name ourselves (the system's preferred family).
      try {
        host = (await within(lookup(name), deadline - Date.now(), `DNS lookup of ${name}`)).address;
      } catch (err) {
        throw new UdpDialError(`cannot resolve ${name}: ${err instanceof Error ? err.message : String(err)}`, true);
      }
    }
    let ep: QuicEndpoint;
    try {
      ep = await this.endpointFor(isIP(host) === 6 ? 6 : 4);
    } catch (err) {
      throw new UdpDialError(`no UDP socket for ${host}: ${err instanceof Error ? err.message : String(err)}`, true);
    }
    const insecure = this.trust.insecure;
    const literal = isIP(name) !== 0;
    const opts: ConnectOptions = {
      host,
      port: Number(target.port || 443),
      serverName: literal ? null : name,
      alpns,
      caPem: insecure || fingerprint !== undefined ? undefined : (this.trust.ca ?? (this.roots ??= platformRoots())),
      fingerprints: fingerprint !== undefined ? [fingerprint] : undefined,
      insecure,
    };
    const attempts = staggered(ep, opts);
    let c: QuicConnection;
    try {
      c = await within(attempts.first, deadline - Date.now(), `QUIC handshake (${what})`);
    } catch (err) {
      attempts.abandon();
      if (err instanceof QuicDialError) {
        if (isTrustFailure(err.code) && !err.remote) throw new UdpDialError(`peer certificate refused: ${err.message}`, false);
        throw new UdpDialError(err.message, true);
      }
      throw new UdpDialError(err instanceof Error ? err.message : String(err), true);
    }
    // The chain was verified without a name: the leaf must name this IP address itself.
    if (literal && !insecure && fingerprint === undefined && !leafNamesIp(c, name)) {
      c.close(0x12a, "certificate does not name the peer's address");
      throw new UdpDialError(`peer certificate refused: it does not name ${name}`, false);
    }
    return c;
  }

  /** One client UDP socket per address family, bound on first use. */
  private endpointFor(family: 4 | 6): Promise<QuicEndpoint> {
    let ep = this.endpoints.get(family);
    if (ep === undefined) {
      ep = QuicEndpoint.bind({ host: family === 6 ? "::" : "0.0.0.0", port: 0, quic: peerQuic(this.config), log: this.log });
      // A failed bind (no IPv6 here) is retried at the next dial, not cached.
      ep.catch(() => this.endpoints.delete(family));
      this.endpoints.set(family, ep);
    }
    return ep;
  }

  async close(): Promise<void> {
    const eps = [...this.endpoints.values()];
    this.endpoints.clear();
    for (const ep of eps) await ep.then((e) => e.close(), () => undefined);
  }
}

/**
 * Fresh handshakes at 0, 0.5, 1.25 and 2.25 s until one completes: quiche resends a lost Initial
 * only after 1 s, then 2 s, so a peer whose UDP port came up a moment after our first packet (a
 * relay restarting) would otherwise miss the UDP budget and be linked over the fallback instead.
 * The first answer decides: a completed handshake wins (the others are closed), a refusal (e.g. a
 * certificate that failed verification) fails the dial at once.
 */
function staggered(ep: QuicEndpoint, opts: ConnectOptions): { first: Promise<QuicConnection>; abandon(): void } {
  const tries: Array<Promise<QuicConnection>> = [];
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const closeAll = (keep?: QuicConnection): void => {
    clearTimeout(timer);
    for (const t of tries) t.then((c) => c !== keep && c.close(0, "dial superseded"), () => undefined);
  };
  const first = new Promise<QuicConnection>((resolve, reject) => {
    const launch = (): void => {
      const t = ep.connect(opts);
      tries.push(t);
      t.then(
        (c) => {
          if (settled) return;
          settled = true;
          closeAll(c);
          resolve(c);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          closeAll();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
      const next = RESEND_AFTER[tries.length - 1];
      if (next !== undefined) timer = setTimeout(launch, next);
    };
    launch();
  });
  return {
    first,
    abandon: () => {
      settled = true;
      closeAll();
    },
  };
}

/** Waits between staggered handshake attempts (ms). */
const RESEND_AFTER = [500, 750, 1000];

function leafNamesIp(c: QuicConnection, ip: string): boolean {
  const leaf = c.conn.peerCertChain()?.[0];
  if (leaf === undefined) return false;
  try {
    return new X509Certificate(leaf).checkIP(ip) !== undefined;
  } catch {
    return false;
  }
}

/** `p`, or a rejection after `ms` saying what timed out. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.max(0, Math.round(ms))} ms`)), Math.max(0, ms));
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
