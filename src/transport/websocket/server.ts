// QMux over WebSocket on the relay's TCP port: Node clients of @moq/net use only this, browsers race
// it 500 ms after WebTransport. The subprotocol carries the MoQ version ("qmux-02.moq-lite-05");
// we choose by our own preference, and the application may refuse with an HTTP status before the
// upgrade completes (so auth failures are real 401/403s, not a closed socket).
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import "../../util/node20.js";
import QmuxSession, { selectSubprotocol, StreamError } from "@moq/qmux";
import { WebSocketServer, type WebSocket } from "ws";
import type { Session } from "../session.js";
import { WtSession, type WtLike } from "../wt-adapter.js";
import type { Logger } from "../../util/log.js";

export type Decision<T> = { ok: true; value: T } | { ok: false; status: number; reason: string };

export interface WebSocketOptions<T> {
  /** MoQ ALPNs in our preference order. */
  versions: string[];
  pingInterval: number;
  log: Logger;
  /** Veto hook, run before the upgrade. */
  authorize(info: { url: URL; remote: string; protocol: string }): Promise<Decision<T>>;
  onSession(session: Session, value: T): void;
  /** Receive windows for QMux flow control. */
  streamWindow: number;
  connectionWindow: number;
  maxStreams: number;
}

const QMUX_VERSIONS = ["qmux-02", "qmux-01", "qmux-00"] as const;

/** The app protocol inside a chosen subprotocol: "qmux-02.moq-lite-05" → "moq-lite-05"; bare → "". */
export function appProtocol(subprotocol: string | undefined): string {
  if (subprotocol === undefined) return "";
  const dot = subprotocol.indexOf(".");
  return dot < 0 ? "" : subprotocol.slice(dot + 1);
}

export class WebSocketAcceptor<T> {
  private readonly wss: WebSocketServer;
  private readonly chosen = new WeakMap<IncomingMessage, string>();
  private readonly live = new Set<WebSocket>();
  private readonly pinger: NodeJS.Timeout;

  constructor(private readonly opts: WebSocketOptions<T>) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 1 << 20,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => this.chosen.get(req) ?? false,
    });
    const missed = new WeakMap<WebSocket, number>();
    this.pinger = setInterval(() => {
      for (const ws of this.live) {
        const n = (missed.get(ws) ?? 0) + 1;
        // A peer that answers no ping for ~6 intervals is gone (TCP may take minutes to notice).
        if (n > 6) {
          opts.log.info({ transport: "websocket" }, "peer silent; closing");
          ws.terminate();
          continue;
        }
        missed.set(ws, n);
        ws.ping();
      }
    }, opts.pingInterval);
    this.pinger.unref();
    this.wss.on("connection", (ws) => {
      this.live.add(ws);
      ws.on("pong", () => missed.set(ws, 0));
      ws.on("message", () => missed.set(ws, 0));
      ws.once("close", () => this.live.delete(ws));
    });
  }

  /** Attach to an http server's 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrade(req, socket, head).catch((err: unknown) => {
      this.opts.log.warn({ err }, "websocket upgrade failed");
      reject(socket, 500, "internal error");
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const secure = socket instanceof TLSSocket;
    const url = new URL(req.url ?? "/", `${secure ? "wss" : "ws"}://${req.headers.host ?? "relay"}`);
    const remote = `${req.socket.remoteAddress ?? "?"}:${req.socket.remotePort ?? 0}`;
    const offered = req.headers["sec-websocket-protocol"];
    let subprotocol: string | undefined;
    if (offered !== undefined && offered.trim() !== "") {
      subprotocol = selectSubprotocol(offered, {
        protocols: this.opts.versions,
        versions: Object.fromEntries(this.opts.versions.map((v) => [v, [...QMUX_VERSIONS]])),
        requireProtocol: false,
      });
      if (subprotocol === undefined) {
        this.opts.log.info({ remote, offered, transport: "websocket" }, "no supported subprotocol");
        reject(socket, 400, "no supported subprotocol");
        return;
      }
      this.chosen.set(req, subprotocol);
    }
    const protocol = appProtocol(subprotocol);
    const decision = await this.opts.authorize({ url, remote, protocol });
    if (!decision.ok) {
      reject(socket, decision.status, decision.reason);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // ws's event typings are narrower than qmux's WebSocketLike; the runtime shapes match.
      const qmux = QmuxSession.accept(ws as unknown as Parameters<typeof QmuxSession.accept>[0], {
        config: {
          maxStreamsBidi: BigInt(this.opts.maxStreams),
          maxStreamsUni: BigInt(this.opts.maxStreams),
          maxData: BigInt(this.opts.connectionWindow),
          maxStreamDataBidiLocal: BigInt(this.opts.streamWindow),
          maxStreamDataBidiRemote: BigInt(this.opts.streamWindow),
          maxStreamDataUni: BigInt(this.opts.streamWindow),
        },
        protocol: subprotocol,
      });
      const session = new WtSession(qmux as unknown as WtLike, {
        transport: "websocket",
        protocol,
        url,
        remote,
        resetReason: (code) => new StreamError(code),
      });
      this.opts.onSession(session, decision.value);
    });
  }

  close(): void {
    clearInterval(this.pinger);
    for (const ws of this.live) ws.terminate();
    this.wss.close();
  }
}

function reject(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${statusText(status)}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function statusText(status: number): string {
  return { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" }[status] ?? "Error";
}
