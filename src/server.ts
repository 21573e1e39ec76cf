// Wires the relay together from one Config: certificate store, auth, relay core, transports, HTTP
// routes. Nothing here knows wire formats; each part gets its section of the config.
import { webcrypto } from "node:crypto";
import { Authenticator, AuthError, type Grant } from "./auth/authorize.js";
import type { Config } from "./config/types.js";
import { Router } from "./http/router.js";
import { registerRoutes } from "./http/routes.js";
import { Origin } from "./relay/origin.js";
import { LiteSession } from "./session/lite/session.js";
import { Code } from "./session/error.js";
import type { Session } from "./transport/session.js";
import { CertStore } from "./transport/tls/cert.js";
import { TcpListener } from "./transport/tcp.js";
import { WebSocketAcceptor } from "./transport/websocket/server.js";
import { QuicEndpoint } from "./transport/quic/endpoint.js";
import { loadNative } from "./transport/quic/native.js";
import { H3Connection } from "./transport/h3/connection.js";
import { startFails } from "./transport/fails.js";
import { detach } from "./util/async.js";
import type { Logger } from "./util/log.js";

export interface RelayHandle {
  /** TCP port actually bound (useful with port 0). */
  readonly port: number;
  readonly origin: Origin;
  readonly certs: CertStore;
  /** Stop accepting, tell sessions to go away, wait up to http.drain_timeout, release sockets. */
  close(): Promise<void>;
}

/** Live sessions and the admission limits on them. */
class Sessions {
  private next = 1;
  readonly live = new Map<number, LiteSession>();
  private readonly perIp = new Map<string, number>();
  opened = 0;

  constructor(private readonly cfg: Config) {}

  admit(remote: string): string | undefined {
    const lim = this.cfg.limits;
    if (lim.max_sessions > 0 && this.live.size >= lim.max_sessions) return "too many sessions";
    const ip = remote.slice(0, remote.lastIndexOf(":"));
    if (lim.max_sessions_per_ip > 0 && (this.perIp.get(ip) ?? 0) >= lim.max_sessions_per_ip) return "too many sessions from this address";
    return undefined;
  }

  /** Run a session until it closes, counting it against the limits meanwhile. */
  run(remote: string, make: (id: number) => LiteSession): Promise<{ id: number; code: number; reason: string }> {
    const id = this.next++;
    const s = make(id);
    const ip = remote.slice(0, remote.lastIndexOf(":"));
    this.live.set(id, s);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.opened++;
    return s.run().then(
      (info) => ({ id, code: info.code, reason: info.reason }),
      (err: unknown) => ({ id, code: Code.ProtocolViolation, reason: String(err) }),
    ).finally(() => {
      this.live.delete(id);
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
  }
}

export async function startRelay(config: Config, log: Logger): Promise<RelayHandle> {
  const certs = await CertStore.create(config.tls, log);
  const auth = new Authenticator(config.auth, log);
  await auth.start();
  const origin = new Origin(config);
  const sessions = new Sessions(config);
  // A random 53-bit hop id: JS clients hold origins as numbers, so stay below 2^53.
  const hop = BigInt(webcrypto.getRandomValues(new Uint32Array(1))[0]) * 0x200000n + BigInt(webcrypto.getRandomValues(new Uint32Array(1))[0] & 0x1fffff) + 1n;
  let draining = false;

  const accept = (session: Session, grant: Grant, authorizeSetup?: (url: URL) => Promise<Grant>): void => {
    const slog = log.child({ transport: session.transport, remote: session.remote, path: grant.root, protocol: session.protocol || "legacy" });
    const closed = sessions.run(session.remote, (id) => {
      slog.info({ session: id, publish: grant.publish, subscribe: grant.subscribe, anonymous: grant.anonymous }, "session accepted");
      return new LiteSession(session, {
        origin,
        grant,
        config,
        hopId: hop,
        log: slog.child({ session: id }),
        authorize: authorizeSetup,
      });
    });
    detach(closed.then((info) => slog.info({ session: info.id, code: info.code, reason: info.reason }, "session closed")), (err) => slog.error({ err }, "session bookkeeping failed"));
  };

  const authorize = async (url: URL, remote: string): Promise<{ ok: true; value: Grant } | { ok: false; status: number; reason: string }> => {
    if (draining) return { ok: false, status: 503, reason: "relay is shutting down" };
    const limit = sessions.admit(remote);
    if (limit !== undefined) {
      log.warn({ remote, reason: limit }, "session refused");
      return { ok: false, status: 429, reason: limit };
    }
    try {
      return { ok: true, value: await auth.authorize(url) };
    } catch (err) {
      if (err instanceof AuthError) {
        // Never log the token: only the path and why.
        log.warn({ remote, path: url.pathname, reason: err.reason, code: Code.Unauthorized }, "session unauthorized");
        return { ok: false, status: err.status, reason: err.message };
      }
      throw err;
    }
  };

  // A session that arrived before its URL was checked (raw QUIC, fails-quiche): check, then run or close.
  const admitAuthorized = (conn: Session): void =>
    detach(
      authorize(conn.url, conn.remote).then((d) => (d.ok ? accept(conn, d.value) : conn.close(Code.Unauthorized, d.reason))),
      (err) => {
        log.error({ err, remote: conn.remote }, "authorisation failed");
        conn.close(Code.Unauthorized, "authorisation failed");
      },
    );

  const rawQuic = (conn: Session): void => {
    const viaSetup = async (url: URL): Promise<Grant> => {
      const d = await authorize(url, conn.remote);
      if (!d.ok) throw Object.assign(new Error(d.reason), { reason: d.reason });
      return d.value;
    };
    // Before SETUP the session has no rights at all; lite-03/04 (no SETUP) get the "/" grant now.
    if (conn.protocol === "moq-lite-05") {
      accept(conn, { root: "", publish: [], subscribe: [], cluster: false, anonymous: true }, viaSetup);
      return;
    }
    admitAuthorized(conn);
  };

  const router = new Router(config.http.cors);
  registerRoutes(router, { certs, origin, auth, config, ready: () => !draining, sessions: () => sessions.live.size });

  let tcp: TcpListener | undefined;
  let ws: WebSocketAcceptor<Grant> | undefined;
  if (config.server.tcp) {
    tcp = await TcpListener.listen({ host: config.server.host, port: config.server.port, certs, log, maxConnections: config.limits.max_sessions > 0 ? config.limits.max_sessions + 1024 : 0 });
    tcp.http.on("request", (req, res) => router.handle(req, res));
    if (config.http.websocket) {
      const acceptor = new WebSocketAcceptor<Grant>({
        versions: config.server.versions,
        pingInterval: config.http.ping_interval,
        log,
        streamWindow: config.server.quic.stream_window,
        connectionWindow: config.server.quic.connection_window,
        maxStreams: Math.min(config.server.quic.max_streams, 10_000),
        authorize: ({ url, remote }) => authorize(url, remote),
        onSession: accept,
      });
      ws = acceptor;
      tcp.http.on("upgrade", (req, socket, head) => acceptor.handleUpgrade(req, socket, head));
    } else {
      tcp.http.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n"));
    }
  }

  let quic: QuicEndpoint | undefined;
  let fails: { close(): void } | undefined;
  try {
    if (config.server.udp && config.server.engine === "fails-quiche") {
      fails = await startFails({
        host: config.server.host,
        port: tcp?.port ?? config.server.port,
        certPem: certs.current.certPem,
        keyPem: certs.current.keyPem,
        log,
        authorize: async (url, remote) => {
          const d = await authorize(url, remote);
          return d.ok ? 200 : d.status;
        },
        onSession: admitAuthorized,
      });
    } else if (config.server.udp) {
      if (loadNative() === null) {
        if (config.server.engine === "native") throw new Error('engine "native" needs @matrixai/quic-linux-x64, which is not installed for this platform');
        log.warn("QUIC is unavailable on this platform (optional @matrixai/quic-linux-x64 missing): serving TCP only");
      } else {
        // Same port number as TCP, so a browser given one URL finds both.
        quic = await QuicEndpoint.bind({ host: config.server.host, port: tcp?.port ?? config.server.port, alpns: ["h3", ...config.server.versions], cert: certs.current, quic: config.server.quic, log });
        certs.onChange((c) => quic?.setCertificate(c.certPem, c.keyPem));
        const q = quic;
        q.onConnection = (conn) => {
          if (conn.protocol === "h3") {
            new H3Connection<Grant>(conn, {
              log: log.child({ transport: "webtransport", remote: conn.remote }),
              maxSessions: 16,
              maxFrame: config.limits.max_message_size * 4,
              accept: async (req) => {
                const d = await authorize(req.url, req.remote);
                if (!d.ok) return d;
                // The first protocol in the client's list that we serve (what @moq/net expects).
                const protocol = req.protocols.find((p) => config.server.versions.includes(p));
                return { ok: true, protocol, value: d.value };
              },
              onSession: accept,
            }).start();
          } else {
            // Raw QUIC with a MoQ ALPN: lite-05 carries the path and token in SETUP; older versions
            // have no SETUP, so they are scoped to "/".
            rawQuic(conn);
          }
        };
      }
    }

  } catch (err) {
    // Release what already started, so a failed start leaves no port or timer behind.
    ws?.close();
    await tcp?.close();
    auth.close();
    certs.close();
    throw err;
  }

  // Parts of the configuration whose behaviour has not landed yet: say so rather than pretend.
  if (config.cluster.nodes.length > 0) log.warn({ nodes: config.cluster.nodes.length }, "[cluster] is not implemented yet: peers are not dialed");
  if (config.http.ops_bind !== undefined) log.warn("[http] ops_bind is not implemented yet: /health and /ready are on the main TCP port");

  const port = tcp?.port ?? config.server.port;
  log.info({ bind: config.server.bind, port, tcp: config.server.tcp, udp: quic !== undefined, fingerprint: certs.current.fingerprint }, "relay listening");

  return {
    port,
    origin,
    certs,
    async close(): Promise<void> {
      draining = true;
      for (const s of sessions.live.values()) s.goaway();
      const deadline = Date.now() + config.http.drain_timeout;
      while (sessions.live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const s of sessions.live.values()) s.close(0, "relay shutting down");
      ws?.close();
      await quic?.close();
      fails?.close();
      await tcp?.close(100);
      origin.close();
      auth.close();
      certs.close();
    },
  };
}
