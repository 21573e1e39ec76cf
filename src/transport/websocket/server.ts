// QMux over WebSocket on the relay's TCP port, on any path (moq-wire §4). Node clients of @moq/net
// use only this; browsers race it 500 ms after WebTransport. The subprotocol carries the MoQ
// version ("qmux-02.moq-lite-05") and we choose it by our own preference. The application vets the
// request before the upgrade completes, so a refusal is a real HTTP status (401, 403, 429…) rather
// than a socket that opens and dies.
import { withBearer } from "../../util/bearer.js";
import { clip } from "../../util/path.js";
import { detach } from "../../util/async.js";
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import "../../util/node20.js";
import QmuxSession from "@moq/qmux";
import { WebSocketServer, type WebSocket } from "ws";
import type { Session } from "../session.js";
import { handshakeDone } from "../tcp.js";
import type { Logger } from "../../util/log.js";
import { SharedRate } from "../../util/ratelog.js";
import { corkBursts } from "./cork.js";
import { KeepAlive } from "./keepalive.js";
import { qmuxConfig, WebSocketSession, type QmuxLike } from "./session.js";
import { chooseSubprotocol } from "./subprotocol.js";

export type Decision<T> = { ok: true; value: T } | { ok: false; status: number; reason: string };

export interface UpgradeInfo {
  /** What the client dialed: ws(s)://host[:port]/path?query (path = auth root, ?jwt= = token). */
  url: URL;
  /** "ip:port" of the peer. */
  remote: string;
  /** The MoQ protocol we would run ("" = legacy in-band SETUP). */
  protocol: string;
}

export interface WebSocketOptions<T> {
  /** MoQ ALPNs in our preference order (config.server.versions). */
  versions: string[];
  /** Keep-alive ping interval (ms); a peer silent for ~6 intervals is dropped. ≤ 0 disables. */
  pingInterval: number;
  log: Logger;
  /** Veto hook, run before the upgrade; a refusal is answered with its HTTP status. */
  authorize(info: UpgradeInfo): Promise<Decision<T>>;
  /** A session is up; `value` is what `authorize` returned for it. */
  onSession(session: Session, value: T): void;
  /** QMux receive window per stream (bytes). */
  streamWindow: number;
  /** QMux receive window per connection (bytes). */
  connectionWindow: number;
  /** Concurrent peer-opened streams of each direction. */
  maxStreams: number;
  /** Bytes the WebSocket may buffer before qmux's scheduler waits (default 256 KiB). */
  sendBuffer?: number;
}

// A QMux record is at most 16382 bytes by default (qmux-00 frames 16384); anything far larger is
// not a QMux peer.
const MAX_MESSAGE = 64 * 1024;
// WebSocketSession's code for a session qmux killed for a protocol violation (moq-wire §2.12).
const PROTOCOL_VIOLATION = 15;

export class WebSocketAcceptor<T> {
  private readonly wss: WebSocketServer;
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly live = new Set<WebSocketSession>();
  private readonly keepAlive: KeepAlive;
  // One budget for every session: anyone can open malformed sessions, one per connection.
  private readonly violations = new SharedRate();
  private closing = false;

  constructor(private readonly opts: WebSocketOptions<T>) {
    this.keepAlive = new KeepAlive(opts.pingInterval);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE,
      perMessageDeflate: false,
      // Chosen before the upgrade (see upgrade()); false = answer without a subprotocol.
      handleProtocols: (_offered, req) => this.chosen.get(req) ?? false,
    });
  }

  /** Live WebSocket sessions. */
  get sessions(): number {
    return this.live.size;
  }

  /** The http server's 'upgrade' listener. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Until ws takes the socket over, its errors are ours to swallow.
    const onError = (): void => {
      socket.destroy();
    };
    socket.on("error", onError);
    this.upgrade(req, socket, head, onError).catch((err: unknown) => {
      this.opts.log.error({ err, transport: "websocket" }, "websocket upgrade failed");
      refuse(socket, 500, "internal error");
    });
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, onError: () => void): Promise<void> {
    const { log } = this.opts;
    const remote = remoteOf(req);
    if (this.closing) return refuse(socket, 503, "relay is shutting down");
    if (req.headers.upgrade?.toLowerCase() !== "websocket") return refuse(socket, 400, "only WebSocket upgrades are served here");
    // Checked before authorize so a malformed handshake costs no token verification.
    if (req.headers["sec-websocket-key"] === undefined) return refuse(socket, 400, "missing Sec-WebSocket-Key");
    let url: URL;
    try {
      url = withBearer(new URL(req.url ?? "/", `${socket instanceof TLSSocket ? "wss" : "ws"}://${req.headers.host ?? "relay"}`), req.headers.authorization);
    } catch {
      return refuse(socket, 400, "bad request target or Host header");
    }
    const choice = chooseSubprotocol(req.headers["sec-websocket-protocol"], this.opts.versions);
    if (!choice.ok) {
      log.info({ remote, path: url.pathname, offered: req.headers["sec-websocket-protocol"], transport: "websocket" }, "websocket refused: no supported subprotocol");
      return refuse(socket, 400, choice.reason);
    }
    const decision = await this.opts.authorize({ url, remote, protocol: choice.protocol });
    if (!decision.ok) return refuse(socket, decision.status, decision.reason);
    if (socket.destroyed) return;
    if (this.closing) return refuse(socket, 503, "relay is shutting down");
    if (choice.subprotocol !== undefined) this.chosen.set(req, choice.subprotocol);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off("error", onError);
      handshakeDone(socket);
      corkBursts(ws, socket);
      this.start(ws, { url, remote, subprotocol: choice.subprotocol ?? "", protocol: choice.protocol }, decision.value);
    });
  }

  private start(ws: WebSocket, info: { url: URL; remote: string; subprotocol: string; protocol: string }, value: T): void {
    const o = this.opts;
    const qmux = QmuxSession.accept(ws as unknown as Parameters<typeof QmuxSession.accept>[0], {
      // Pass the value we echoed: the socket reports it too, but this leaves no doubt.
      protocol: info.subprotocol,
      sendBufferSize: o.sendBuffer ?? 256 * 1024,
      config: qmuxConfig(o),
    });
    const session = new WebSocketSession(qmux as unknown as QmuxLike, { ...info, terminate: () => ws.terminate(), rtt: () => this.keepAlive.rtt(ws) });
    this.live.add(session);
    this.keepAlive.watch(ws, () => {
      o.log.info({ remote: info.remote, path: info.url.pathname, transport: "websocket" }, "peer silent; dropping the session");
      session.expire("keep-alive timeout");
    });
    detach(session.closed.then((c) => {
      this.live.delete(session);
      if (c.code === PROTOCOL_VIOLATION && !c.remote) {
        this.violations.write(o.log, "warn", { remote: info.remote, path: clip(info.url.pathname), reason: c.reason, transport: "websocket" }, "malformed QMux session closed");
      }
      o.log.debug({ remote: info.remote, code: c.code, reason: c.reason, by: c.remote ? "peer" : "us", transport: "websocket" }, "websocket session closed");
      // qmux closes the socket itself after a close frame; make sure a dropped one is gone too.
      setTimeout(() => ws.terminate(), 1000).unref();
    }), (err) => o.log.error({ err, transport: "websocket" }, "websocket close handling failed"));
    o.log.debug({ remote: info.remote, path: info.url.pathname, protocol: info.protocol || "legacy", subprotocol: info.subprotocol, transport: "websocket" }, "websocket session accepted");
    try {
      o.onSession(session, value);
    } catch (err) {
      o.log.error({ err, transport: "websocket" }, "session handler failed");
      session.close(0, "internal error");
    }
  }

  /** Refuse new upgrades, close live sessions (code 0) and stop the keep-alive timer. */
  close(reason = "relay shutting down"): void {
    this.closing = true;
    this.keepAlive.close();
    for (const s of this.live) s.close(0, reason);
    this.wss.close();
  }
}

/** "ip:port", with IPv4-mapped IPv6 addresses (from a dual-stack socket) shown as plain IPv4. */
function remoteOf(req: IncomingMessage): string {
  const addr = req.socket.remoteAddress ?? "?";
  return `${addr.startsWith("::ffff:") ? addr.slice(7) : addr}:${req.socket.remotePort ?? 0}`;
}

/** Answer an upgrade request with an HTTP error and close the connection. */
function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
