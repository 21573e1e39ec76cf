// A TCP port as the relay builds it (certificate store, TLS sniffing, router, QMux-over-WebSocket
// acceptor) with a small echo application on our Session interface in place of MoQ, plus the
// client-side helpers the transport tests share.
import "../util/polyfill.js";
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import QmuxSession from "@moq/qmux";
import { WebSocket } from "ws";
import { registerCertificateRoute } from "../../src/http/certificate.js";
import { Router } from "../../src/http/router.js";
import type { BidiStream, RecvStream, Session } from "../../src/transport/session.js";
import { TcpListener, type TcpOptions } from "../../src/transport/tcp.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { WebSocketAcceptor, type UpgradeInfo } from "../../src/transport/websocket/server.js";
import type { WebSocketSession } from "../../src/transport/websocket/session.js";
import { silentLogger } from "../../src/util/log.js";

export const log = silentLogger();

/** What the echo application saw, for assertions. */
export interface AppEvents {
  /** write() returned false (backpressure) this many times. */
  backpressured: number;
  drained: number;
  /** Reset codes the server received on incoming streams. */
  resets: number[];
  /** STOP_SENDING codes the server received. */
  stops: number[];
  /** The contents of every finished uni stream the server received. */
  unis: Buffer[];
}

export interface Fixture {
  port: number;
  certs: CertStore;
  tcp: TcpListener;
  router: Router;
  acceptor: WebSocketAcceptor<string>;
  /** Sessions handed to the application, in order. */
  sessions: WebSocketSession[];
  /** Every request the authorize hook saw. */
  asked: UpgradeInfo[];
  events: AppEvents;
  close(): Promise<void>;
}

export interface FixtureOptions {
  versions?: string[];
  pingInterval?: number;
  certs?: CertStore;
  firstByteTimeout?: number;
  /** TcpListener limits (see TcpOptions). */
  tcp?: Partial<Pick<TcpOptions, "headTimeout" | "upgradeTimeout" | "maxHandshakes" | "maxHandshakesPerAddress" | "maxConnections">>;
  /** Default 127.0.0.1. */
  host?: string;
}

/** Paths the authorize hook refuses, with the status it answers. */
const REFUSED: Record<string, number> = { "/denied": 401, "/forbidden": 403 };
/** A path whose authorisation never answers (a stuck auth backend), for upgrade deadlines. */
const STUCK = "/stuck";

export async function startFixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const certs = opts.certs ?? (await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log));
  const tcp = await TcpListener.listen({ host: opts.host ?? "127.0.0.1", port: 0, certs, log, maxConnections: 100, firstByteTimeout: opts.firstByteTimeout, ...opts.tcp });
  const router = new Router({ cors: "*", log });
  registerCertificateRoute(router, certs);
  tcp.http.on("request", router.handle);
  const sessions: WebSocketSession[] = [];
  const asked: UpgradeInfo[] = [];
  const events: AppEvents = { backpressured: 0, drained: 0, resets: [], stops: [], unis: [] };
  const acceptor = new WebSocketAcceptor<string>({
    versions: opts.versions ?? ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"],
    pingInterval: opts.pingInterval ?? 5000,
    log,
    streamWindow: 256 * 1024,
    connectionWindow: 1024 * 1024,
    maxStreams: 100,
    authorize: async (info) => {
      asked.push(info);
      if (info.url.pathname === STUCK) return new Promise(() => undefined);
      const status = REFUSED[info.url.pathname];
      return status === undefined ? { ok: true, value: info.url.pathname } : { ok: false, status, reason: "not for you" };
    },
    onSession: (session) => {
      sessions.push(session as WebSocketSession);
      echo(session, events);
    },
  });
  tcp.http.on("upgrade", acceptor.handleUpgrade);
  return {
    port: tcp.port,
    certs,
    tcp,
    router,
    acceptor,
    sessions,
    asked,
    events,
    async close() {
      acceptor.close();
      await tcp.close(200);
      if (opts.certs === undefined) certs.close();
    },
  };
}

/**
 * The echo application: bidi streams are echoed with backpressure (and resets mirrored), a uni
 * stream is answered by a uni stream carrying the same bytes, datagrams are sent back.
 */
function echo(session: Session, events: AppEvents): void {
  session.onBidi = (b: BidiStream) => {
    b.recv.onData = (chunk) => {
      if (!b.send.write(chunk)) {
        events.backpressured++;
        b.recv.pause();
      }
    };
    b.send.onDrain = () => {
      events.drained++;
      b.recv.resume();
    };
    b.recv.onEnd = () => b.send.end();
    b.recv.onReset = (code) => {
      events.resets.push(code);
      b.send.reset(code);
    };
    b.send.onStop = (code) => {
      events.stops.push(code);
      b.recv.stop(code);
    };
  };
  session.onUni = (u: RecvStream) => {
    const parts: Uint8Array[] = [];
    u.onData = (c) => parts.push(c);
    u.onEnd = () => {
      events.unis.push(Buffer.concat(parts));
      void session.openUni().then((out) => {
        for (const p of parts) out.write(p);
        out.end();
      });
    };
  };
  session.onDatagram = (d) => session.sendDatagram(d);
}

// ---- clients ---------------------------------------------------------------------------------

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The server's leaf certificate as received over TLS (https only). */
  peerDer?: Buffer;
}

/** One HTTP(S) request on a fresh connection; HTTPS trusts `ca`. */
export function fetchText(url: string, opts: { method?: string; ca?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const done = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      const peerDer = res.socket instanceof TLSSocket ? res.socket.getPeerCertificate().raw : undefined;
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), peerDer }));
    };
    const options = { method: opts.method ?? "GET", headers: opts.headers, agent: false as const };
    const req = url.startsWith("https:") ? httpsRequest(url, { ...options, ca: opts.ca }, done) : httpRequest(url, options, done);
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.end();
  });
}

export interface UpgradeResult {
  status: number;
  /** The Sec-WebSocket-Protocol the server echoed (101 only). */
  protocol?: string;
  body?: string;
}

/** Attempt only the WebSocket upgrade and report the HTTP outcome. */
export function tryUpgrade(url: string, protocols: string[], ca?: string): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { ca, handshakeTimeout: 5000 });
    ws.once("open", () => {
      resolve({ status: 101, protocol: ws.protocol });
      ws.terminate();
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    ws.once("error", reject);
  });
}

/** A real @moq/qmux client over a `ws` socket we open (so wss can trust our test CA). */
export function qmuxClient(url: string, protocols: string[], ca?: string): QmuxSession {
  return new QmuxSession(new WebSocket(url, protocols, { ca }) as unknown as ConstructorParameters<typeof QmuxSession>[0]);
}

/** Open a TCP connection and resolve once it is connected. */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

export async function readAll(r: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const reader = r.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return Buffer.concat(chunks);
    chunks.push(value);
  }
}

/** Resolve `p`, or reject after `ms` naming `what`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Poll `cond` every 10 ms until it holds, for at most `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
