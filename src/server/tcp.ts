// The TCP side of the port: HTTP routes and QMux over WebSocket, plain and TLS on one socket.
import { Router } from "../http/router.js";
import { registerRoutes } from "../http/routes.js";
import { registerDocRoutes, registerMetricsRoute } from "../ops/routes.js";
import { TcpListener } from "../transport/tcp.js";
import { WebSocketAcceptor } from "../transport/websocket/server.js";
import type { Grant } from "../auth/authorize.js";
import type { RelayContext } from "./context.js";

export interface TcpSide {
  readonly port: number;
  readonly router: Router;
  /** Refuse new upgrades and close WebSocket sessions. */
  stopSessions(): void;
  close(graceMs: number): Promise<void>;
}

export async function startTcp(ctx: RelayContext): Promise<TcpSide> {
  const { config, log } = ctx;
  const router = new Router(config.http.cors);
  registerRoutes(router, {
    certs: ctx.certs,
    origin: ctx.origin,
    auth: ctx.auth,
    config,
    ready: () => ctx.listening && !ctx.draining,
    sessions: () => ctx.sessions.size + (ctx.workers?.sessions() ?? 0),
    log,
  });

  // With an operations listener, /metrics lives there only; without one, loopback clients may read it here.
  if (config.http.ops_bind === undefined) {
    registerMetricsRoute(router, ctx.ops, { loopbackOnly: true });
    // Until an operations listener is configured, /nodes and /workers answer loopback clients here.
    registerDocRoutes(router, ctx.ops, { loopbackOnly: true });
  }

  const tcp = await TcpListener.listen({
    host: config.server.host,
    port: config.server.port,
    certs: ctx.certs,
    log,
    onFailure: (cls) => ctx.counters.acceptFailed("tcp", cls),
    maxConnections: config.limits.max_sessions > 0 ? config.limits.max_sessions + 1024 : 0,
    headTimeout: config.limits.head_timeout,
    upgradeTimeout: config.limits.handshake_timeout,
    maxHandshakes: config.limits.max_handshakes,
    maxHandshakesPerAddress: config.limits.max_handshakes_per_ip,
    maxHeaderSize: config.limits.max_header_size,
  });
  tcp.http.on("request", (req, res) => router.handle(req, res));

  let ws: WebSocketAcceptor<Grant> | undefined;
  if (config.http.websocket) {
    const acceptor = new WebSocketAcceptor<Grant>({
      versions: config.server.versions,
      pingInterval: config.http.ping_interval,
      log,
      streamWindow: config.server.quic.stream_window,
      connectionWindow: config.server.quic.connection_window,
      maxStreams: Math.min(config.server.quic.max_streams, 10_000),
      authorize: ({ url, remote }) => ctx.authorize(url, remote, "tcp"),
      onSession: (session, grant) => ctx.accept(session, grant),
    });
    ws = acceptor;
    tcp.http.on("upgrade", (req, socket, head) => acceptor.handleUpgrade(req, socket, head));
  } else {
    tcp.http.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n"));
  }

  return {
    port: tcp.port,
    router,
    stopSessions: () => ws?.close(),
    close: (graceMs) => tcp.close(graceMs),
  };
}
