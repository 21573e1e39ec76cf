// The UDP side of the port: WebTransport over HTTP/3 and raw QUIC with MoQ ALPNs on our QUIC
// engine, or the optional fails-quiche engine.
import type { Grant } from "../auth/authorize.js";
import { Code } from "../session/error.js";
import { startFails } from "../transport/fails.js";
import { H3Connection } from "../transport/h3/connection.js";
import { QuicEndpoint } from "../transport/quic/endpoint.js";
import { loadNative } from "../transport/quic/native.js";
import { isIetfAlpn } from "../session/ietf/version.js";
import type { Session } from "../transport/session.js";
import { detach } from "../util/async.js";
import { withBearer } from "../util/bearer.js";
import type { CertStore } from "../transport/tls/cert.js";
import type { RelayContext } from "./context.js";

/** What the UDP side uses of the relay's context (a worker process builds its own, see src/workers). */
export type UdpContext = Pick<RelayContext, "config" | "log" | "authorize" | "accept"> & { readonly certs: Pick<CertStore, "current" | "onChange"> };

export interface UdpOptions {
  /** Bind with SO_REUSEPORT: one of several worker processes serving the port. */
  reusePort?: boolean;
}

export interface UdpSide {
  /** False when QUIC is unavailable on this platform and only TCP serves. */
  readonly serving: boolean;
  /** The UDP port bound (when serving on our QUIC engine). */
  readonly port?: number;
  /** Drain: HTTP/3 GOAWAY on every connection. */
  goaway?(): void;
  close(): Promise<void>;
}

/** A session that arrived before its URL was checked (raw QUIC, fails-quiche): check, then run or close. */
function admitAuthorized(ctx: UdpContext, conn: Session): void {
  detach(
    ctx.authorize(conn.url, conn.remote, "udp").then((d) => (d.ok ? ctx.accept(conn, d.value) : conn.close(Code.Unauthorized, d.reason))),
    (err) => {
      ctx.log.error({ err, remote: conn.remote }, "authorisation failed");
      conn.close(Code.Unauthorized, "authorisation failed");
    },
  );
}

/** Raw QUIC with a MoQ ALPN: lite-05 and IETF carry path and token in SETUP; older versions are scoped to "/". */
function rawQuic(ctx: UdpContext, conn: Session): void {
  if (conn.protocol !== "moq-lite-05" && !isIetfAlpn(conn.protocol)) return admitAuthorized(ctx, conn);
  const viaSetup = async (url: URL): Promise<Grant> => {
    const d = await ctx.authorize(url, conn.remote, "udp");
    if (!d.ok) throw Object.assign(new Error(d.reason), { reason: d.reason });
    return d.value;
  };
  // Before SETUP the session has no rights at all.
  ctx.accept(conn, { root: "", publish: [], subscribe: [], cluster: false, anonymous: true }, viaSetup);
}

export async function startUdp(ctx: UdpContext, port: number, opts: UdpOptions = {}): Promise<UdpSide> {
  const { config, log, certs } = ctx;
  if (!config.server.udp) return { serving: false, close: async () => {} };

  if (config.server.engine === "fails-quiche") {
    const fails = await startFails({
      host: config.server.host,
      port,
      certPem: certs.current.certPem,
      keyPem: certs.current.keyPem,
      log,
      authorize: async (url, remote) => {
        const d = await ctx.authorize(url, remote, "udp");
        return d.ok ? 200 : d.status;
      },
      onSession: (session) => admitAuthorized(ctx, session),
    });
    return { serving: true, close: async () => fails.close() };
  }

  if (loadNative() === null) {
    if (config.server.engine === "native") throw new Error('engine "native" needs @matrixai/quic-linux-x64, which is not installed for this platform');
    log.warn("QUIC is unavailable on this platform (optional @matrixai/quic-linux-x64 missing): serving TCP only");
    return { serving: false, close: async () => {} };
  }

  // Same port number as TCP, so a browser given one URL finds both.
  const quic = await QuicEndpoint.bind({
    host: config.server.host,
    port,
    alpns: ["h3", ...config.server.versions],
    cert: certs.current,
    quic: config.server.quic,
    // An HTTP/3 connection counts as a handshake (capped per address, timed) until its first session.
    admission: {
      retry: config.server.quic.retry,
      maxHandshakes: config.limits.max_handshakes,
      maxHandshakesPerAddress: config.limits.max_handshakes_per_ip,
      handshakeTimeout: config.limits.handshake_timeout,
      holdUntilSettled: true,
    },
    log,
    reusePort: opts.reusePort,
  });
  certs.onChange((c) => quic.setCertificate(c.certPem, c.keyPem));
  // Live HTTP/3 connections, so a drain can send each its GOAWAY.
  const h3s = new Set<H3Connection<Grant>>();
  quic.onConnection = (conn) => {
    // Raw QUIC sessions bound their own SETUP by handshake_timeout.
    if (conn.protocol !== "h3") {
      quic.settle(conn);
      return rawQuic(ctx, conn);
    }
    const h3 = new H3Connection<Grant>(conn, {
      log: log.child({ transport: "webtransport", remote: conn.remote }),
      maxSessions: 16,
      maxHeaderSize: config.limits.max_header_size,
      maxCapsule: config.limits.max_capsule_size,
      accept: async (req) => {
        const d = await ctx.authorize(withBearer(req.url, req.headers.get("authorization")), req.remote, "udp");
        if (!d.ok) return d;
        // The first protocol in the client's list that we serve (what @moq/net expects).
        const protocol = req.protocols.find((p) => config.server.versions.includes(p));
        return { ok: true, protocol, value: d.value };
      },
      onSession: (session, grant) => {
        quic.settle(conn);
        ctx.accept(session, grant);
      },
    });
    h3s.add(h3);
    conn.closed.then(() => h3s.delete(h3), () => h3s.delete(h3));
    h3.start();
  };
  return {
    serving: true,
    port: quic.port,
    goaway: () => {
      for (const h of h3s) h.goaway();
    },
    close: () => quic.close(),
  };
}
