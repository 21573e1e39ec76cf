// One TCP port for everything that is not QUIC: plain HTTP/WebSocket and HTTPS/WSS, told apart by
// the first byte (0x16 opens a TLS handshake). Clients given http://host:port fetch
// /certificate.sha256 over plain HTTP, then dial WebTransport or ws:// on the same port number;
// clients given https:// get TLS on the same port. Both kinds feed one node:http server, which
// emits 'request' and 'upgrade' for the router and the WebSocket acceptor.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { CertStore } from "./tls/cert.js";
import type { Logger } from "../util/log.js";

export interface TcpOptions {
  /** Host to bind; "::" listens on IPv6 and IPv4 alike. */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from `port`). */
  port: number;
  certs: CertStore;
  log: Logger;
  /** Open TCP connections allowed at once (0 = unlimited); extra ones are dropped at accept. */
  maxConnections: number;
  /** How long a new connection may stay silent before its first byte (ms). Default 10 s. */
  firstByteTimeout?: number;
  /** Time allowed to receive a request's headers (ms). Default 10 s. */
  headersTimeout?: number;
  /** How long an idle keep-alive HTTP connection is kept (ms). Default 5 s. */
  keepAliveTimeout?: number;
}

const TLS_HANDSHAKE = 0x16;
// TCP keep-alive probes after this much idle time, like the Rust relay's listener.
const TCP_KEEPALIVE = 30_000;

export class TcpListener {
  /** The HTTP server both plain and TLS connections are fed into. */
  readonly http: HttpServer;
  private readonly net: NetServer;
  private readonly sockets = new Set<Socket>();
  private readonly firstByteTimeout: number;

  private constructor(private readonly opts: TcpOptions) {
    this.firstByteTimeout = opts.firstByteTimeout ?? 10_000;
    const headersTimeout = opts.headersTimeout ?? 10_000;
    this.http = createHttpServer({
      keepAlive: true,
      keepAliveTimeout: opts.keepAliveTimeout ?? 5000,
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, 60_000),
    });
    // pauseOnConnect: nothing is read until we have looked at the first byte.
    this.net = createNetServer({ pauseOnConnect: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: TCP_KEEPALIVE }, (s) => this.accept(s));
    if (opts.maxConnections > 0) this.net.maxConnections = opts.maxConnections;
    this.net.on("drop", (d) => opts.log.warn({ remote: d === undefined ? undefined : `${d.remoteAddress}:${d.remotePort}`, transport: "tcp" }, "connection limit reached; dropped a connection"));
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

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", (err) => {
      this.opts.log.debug({ err, transport: "tcp" }, "tcp socket error");
      socket.destroy();
    });
    socket.setTimeout(this.firstByteTimeout, () => socket.destroy());
    socket.once("data", (head: Buffer) => {
      socket.setTimeout(0);
      // Put the byte back; whoever takes the socket next reads it first.
      socket.pause();
      socket.unshift(head);
      if (head[0] === TLS_HANDSHAKE) this.http.emit("connection", this.secure(socket));
      else this.http.emit("connection", socket);
      // Flow resumes once the http server has attached its listeners.
      process.nextTick(() => {
        if (!socket.destroyed) socket.resume();
      });
    });
    socket.resume();
  }

  private secure(socket: Socket): TLSSocket {
    // The context is read now, so a rotated certificate applies to every new handshake.
    const tls = new TLSSocket(socket, { isServer: true, secureContext: this.opts.certs.secureContext, ALPNProtocols: ["http/1.1"] });
    tls.on("error", (err) => {
      this.opts.log.debug({ err, transport: "tcp" }, "tls error");
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
    await stopped;
  }
}
