// One TCP port for everything that is not QUIC: plain HTTP/WebSocket and HTTPS/WSS, told apart by
// the first byte (0x16 opens a TLS handshake). Clients given http://host:port fetch
// /certificate.sha256 over plain HTTP, then dial WebTransport or ws:// on the same port number;
// clients given https:// get TLS on the same port. Both kinds feed one node:http server, which
// emits 'request' and 'upgrade' for the router and the WebSocket acceptor.
//
// Until a connection carries a request or a session it is half-open, and a stranger can open
// thousands: every step before that (first byte, TLS handshake, request head, WebSocket upgrade)
// has its own deadline, half-open connections are capped per address, and part of every cap is
// kept for addresses that hold nothing. Node's own headersTimeout/requestTimeout cannot help: they
// only run on a server that listens itself, and this one is fed sockets.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { CertStore } from "./tls/cert.js";
import { hostKey } from "../util/address.js";
import type { Logger } from "../util/log.js";
import { AddressLimiter, RefusalLog, type Release } from "./limiter.js";

export interface TcpOptions {
  /** Host to bind; "::" listens on IPv6 and IPv4 alike. */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from `port`). */
  port: number;
  certs: CertStore;
  log: Logger;
  /** Open TCP connections allowed at once (0 = unlimited); the last eighth is kept for new addresses. */
  maxConnections: number;
  /** Deadline for each step before a request: first byte, TLS handshake, request head (ms). Default 5 s. */
  headTimeout?: number;
  /** Overrides headTimeout for the first byte only (ms). */
  firstByteTimeout?: number;
  /** Deadline from a WebSocket upgrade's request head to its session (ms). Default 10 s. */
  upgradeTimeout?: number;
  /** Half-open connections at once (default 1024) and from one address (default 32). */
  maxHandshakes?: number;
  maxHandshakesPerAddress?: number;
  /** Largest request head (bytes); Node answers 431 beyond it. Default 16 KiB. */
  maxHeaderSize?: number;
  /** How long an idle keep-alive HTTP connection is kept (ms). Default 5 s. */
  keepAliveTimeout?: number;
  /** Told of each connection refused by a limit or failed in TLS (for moq_relay_accept_failures_total). */
  onFailure?: (cls: "limit" | "tls") => void;
}

const TLS_HANDSHAKE = 0x16;
// TCP keep-alive probes after this much idle time, like the Rust relay's listener.
const TCP_KEEPALIVE = 30_000;

type Stage = "first byte" | "TLS handshake" | "request head" | "WebSocket upgrade";

/** One connection's way to a request or a session: its deadline and its half-open slot. */
class Handshake {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sockets: Socket[],
    private release: Release | null,
  ) {}

  /** Enter a stage: the connection is cut if the stage has not ended within `ms`. */
  stage(name: Stage, ms: number, onExpire: (stage: Stage) => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      onExpire(name);
      for (const s of this.sockets) s.destroy();
    }, ms);
    this.timer.unref();
  }

  /** Between requests of a keep-alive connection: a deadline for the next head, no slot. */
  idle(ms: number, onExpire: (stage: Stage) => void): void {
    this.done();
    this.stage("request head", ms, onExpire);
  }

  /** The connection carries a request or a session now. */
  done(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.release?.();
    this.release = null;
  }
}

// Keyed by the socket node:http sees (the TLSSocket for HTTPS), which is what req.socket and an
// upgrade's socket are; a WeakMap, so nothing outlives its connection.
const handshakes = new WeakMap<object, Handshake>();

/**
 * Tell the listener a WebSocket upgrade on `socket` became a session: its upgrade deadline and
 * half-open slot end here. Sockets from elsewhere are ignored.
 */
export function handshakeDone(socket: Duplex): void {
  handshakes.get(socket)?.done();
  handshakes.delete(socket);
}

export class TcpListener {
  /** The HTTP server both plain and TLS connections are fed into. */
  readonly http: HttpServer;
  private readonly net: NetServer;
  private readonly sockets = new Set<Socket>();
  private readonly open: AddressLimiter;
  private readonly halfOpen: AddressLimiter;
  private readonly headTimeout: number;
  private readonly firstByteTimeout: number;
  private readonly upgradeTimeout: number;
  private readonly refusals: RefusalLog;
  private readonly expiries: RefusalLog;

  private constructor(private readonly opts: TcpOptions) {
    this.headTimeout = opts.headTimeout ?? 5000;
    this.firstByteTimeout = opts.firstByteTimeout ?? this.headTimeout;
    this.upgradeTimeout = opts.upgradeTimeout ?? 10_000;
    this.open = new AddressLimiter(opts.maxConnections, 0);
    this.halfOpen = new AddressLimiter(opts.maxHandshakes ?? 1024, opts.maxHandshakesPerAddress ?? 32);
    this.refusals = new RefusalLog((n) => opts.log.warn({ refused: n, open: this.sockets.size, halfOpen: this.halfOpen.size, transport: "tcp" }, "connections refused: listener or per-address half-open limit"));
    this.expiries = new RefusalLog((n) => opts.log.info({ closed: n, transport: "tcp" }, "connections closed at a handshake deadline"));
    this.http = createHttpServer({ keepAlive: true, keepAliveTimeout: opts.keepAliveTimeout ?? 5000, maxHeaderSize: opts.maxHeaderSize ?? 16 * 1024 });
    // First listeners on both events, so a head's deadline ends before the application runs.
    this.http.on("request", (req: IncomingMessage, res: ServerResponse) => this.requestStarted(req, res));
    this.http.on("upgrade", (req: IncomingMessage) => handshakes.get(req.socket)?.stage("WebSocket upgrade", this.upgradeTimeout, this.expired));
    // pauseOnConnect: nothing is read until we have looked at the first byte.
    this.net = createNetServer({ pauseOnConnect: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: TCP_KEEPALIVE }, (s) => this.accept(s));
  }

  static async listen(opts: TcpOptions): Promise<TcpListener> {
    const l = new TcpListener(opts);
    await new Promise<void>((resolve, reject) => {
      l.net.once("error", reject);
      // ipv6Only false: "::" takes IPv4 connections too (as ::ffff:a.b.c.d).
      l.net.listen({ host: opts.host, port: opts.port, ipv6Only: false }, () => {
        l.net.off("error", reject);
        resolve();
      });
    });
    l.net.on("error", (err) => opts.log.error({ err, transport: "tcp" }, "tcp listener error"));
    return l;
  }

  /** The bound port (useful after binding port 0). */
  get port(): number {
    const a = this.net.address();
    return typeof a === "object" && a !== null ? a.port : 0;
  }

  /** Open TCP connections (plain, TLS and upgraded WebSockets alike). */
  get connections(): number {
    return this.sockets.size;
  }

  /** Connections still before their first request or session. */
  get halfOpenCount(): number {
    return this.halfOpen.size;
  }

  private readonly expired = (): void => this.expiries.note();

  private accept(socket: Socket): void {
    const address = hostKey(socket.remoteAddress ?? "");
    const conn = this.open.take(address);
    const slot = conn === null ? null : this.halfOpen.take(address);
    if (conn === null || slot === null) {
      conn?.();
      this.refusals.note();
      this.opts.onFailure?.("limit");
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const hs = new Handshake([socket], slot);
    socket.once("close", () => {
      this.sockets.delete(socket);
      hs.done();
      conn();
    });
    socket.on("error", (err) => {
      this.opts.log.debug({ err, transport: "tcp" }, "tcp socket error");
      socket.destroy();
    });
    hs.stage("first byte", this.firstByteTimeout, this.expired);
    socket.once("data", (head: Buffer) => {
      // Put the byte back; whoever takes the socket next reads it first.
      socket.pause();
      socket.unshift(head);
      let http: Socket = socket;
      if (head[0] === TLS_HANDSHAKE) {
        const tls = this.secure(socket);
        hs.stage("TLS handshake", this.headTimeout, this.expired);
        tls.once("secure", () => hs.stage("request head", this.headTimeout, this.expired));
        http = tls;
      } else {
        hs.stage("request head", this.headTimeout, this.expired);
      }
      handshakes.set(http, hs);
      this.http.emit("connection", http);
      // Flow resumes once the http server has attached its listeners.
      process.nextTick(() => {
        if (!socket.destroyed) socket.resume();
      });
    });
    socket.resume();
  }

  private requestStarted(req: IncomingMessage, res: ServerResponse): void {
    const hs = handshakes.get(req.socket);
    if (hs === undefined) return;
    hs.done();
    // Keep-alive: the next head gets the same deadline, so a trickle cannot hold the socket.
    res.once("finish", () => {
      if (!req.socket.destroyed) hs.idle(this.headTimeout, this.expired);
    });
  }

  private secure(socket: Socket): TLSSocket {
    // The context is read now, so a rotated certificate applies to every new handshake.
    const tls = new TLSSocket(socket, { isServer: true, secureContext: this.opts.certs.secureContext, ALPNProtocols: ["http/1.1"] });
    tls.on("error", (err) => {
      this.opts.log.debug({ err, transport: "tcp" }, "tls error");
      this.opts.onFailure?.("tls");
      tls.destroy();
    });
    return tls;
  }

  /**
   * Stop accepting, close idle HTTP connections, let busy ones finish for up to `graceMs`, then
   * cut whatever is left (including upgraded WebSockets).
   */
  async close(graceMs = 0): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.net.close(() => resolve()));
    this.http.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(25, deadline - Date.now())));
      this.http.closeIdleConnections();
    }
    for (const s of this.sockets) s.destroy();
    this.http.closeAllConnections();
    this.refusals.flush();
    this.expiries.flush();
    await stopped;
  }
}
