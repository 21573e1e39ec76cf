// One TCP port for everything that is not QUIC: plain HTTP/WebSocket and HTTPS/WSS, told apart by
// the first byte (0x16 starts a TLS handshake). Clients given http://host:port fetch
// /certificate.sha256 over plain HTTP, then dial WebTransport or ws:// on the same port number.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { CertStore } from "./tls/cert.js";
import type { Logger } from "../util/log.js";

export interface TcpOptions {
  host: string;
  port: number;
  certs: CertStore;
  log: Logger;
  maxConnections: number;
}

export class TcpListener {
  readonly http: HttpServer;
  private readonly net: NetServer;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly opts: TcpOptions) {
    this.http = createHttpServer({ keepAlive: true, headersTimeout: 10_000, requestTimeout: 60_000 });
    this.net = createNetServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.sniff(socket));
    if (opts.maxConnections > 0) this.net.maxConnections = opts.maxConnections;
  }

  static async listen(opts: TcpOptions): Promise<TcpListener> {
    const l = new TcpListener(opts);
    await new Promise<void>((resolve, reject) => {
      l.net.once("error", reject);
      l.net.listen({ host: opts.host, port: opts.port, ipv6Only: false }, () => {
        l.net.off("error", reject);
        resolve();
      });
    });
    l.net.on("error", (err) => opts.log.error({ err }, "tcp listener error"));
    return l;
  }

  get port(): number {
    const a = this.net.address();
    return typeof a === "object" && a !== null ? a.port : 0;
  }

  private sniff(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once("data", (head: Buffer) => {
      socket.pause();
      socket.unshift(head);
      socket.setTimeout(0);
      if (head[0] === 0x16) {
        const tls = new TLSSocket(socket, { isServer: true, secureContext: this.opts.certs.secureContext, ALPNProtocols: ["http/1.1"] });
        tls.on("error", () => tls.destroy());
        this.http.emit("connection", tls);
      } else {
        this.http.emit("connection", socket);
      }
      process.nextTick(() => socket.resume());
    });
    socket.resume();
  }

  /** Stop accepting; give open connections `graceMs`, then cut them. */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    this.http.closeIdleConnections();
    if (graceMs > 0 && this.sockets.size > 0) await new Promise((r) => setTimeout(r, graceMs).unref());
    for (const s of this.sockets) s.destroy();
    this.http.closeAllConnections();
    await closed;
  }
}
