// The real client's own server half, in-process: a `ws` server that picks a subprotocol with
// @moq/qmux, wraps each socket with Session.accept and hands it to @moq/net's Connection.accept.
// It stands in for our relay so the harness can be proven against a known-good peer.
import "../util/polyfill.js";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import * as Moq from "@moq/net";
import QmuxSession, { selectSubprotocol } from "@moq/qmux";
import { WebSocketServer, type WebSocket } from "ws";
import { BroadcastWriter, TrackWriter, Waiters, type Conn } from "../util/page/core.js";

/** Our preference order, like moq-relay's: the newest lite first. */
export const REFERENCE_PROTOCOLS = ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"];

export interface ReferenceServer {
  readonly port: number;
  /** http://127.0.0.1:PORT/<path> — what a client dials. */
  url(path?: string): URL;
  /** Sessions accepted so far, in order. */
  readonly sessions: Conn[];
  /** The Sec-WebSocket-Protocol value chosen for each upgrade, in order. */
  readonly subprotocols: string[];
  /** The session a client opened at `path` (the URL path, e.g. "anon/alice"), once accepted. */
  session(path: string, ms?: number): Promise<Conn>;
  /** A broadcast served to every current and future session. */
  broadcast(path: string): BroadcastWriter;
  /** Shorthand: a broadcast with one track. */
  publish(path: string, track: string): TrackWriter;
  close(): Promise<void>;
}

export async function startReferenceServer(protocols = REFERENCE_PROTOCOLS): Promise<ReferenceServer> {
  const versions = Object.fromEntries(protocols.map((p) => [p, null]));
  const http = createServer((_req, res) => res.writeHead(404).end());
  // Like moq-relay: an upgrade offering none of our protocols gets a 400, not a bare WebSocket.
  const chosen = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (_offered, req) => chosen.get(req) ?? false });
  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const protocol = selectSubprotocol(req.headers["sec-websocket-protocol"], { protocols, versions, requireProtocol: true });
    if (protocol === undefined) {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    chosen.set(req, protocol);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  const sessions: Conn[] = [];
  const waiters = new Waiters();
  const broadcasts: BroadcastWriter[] = [];
  const sockets = new Set<WebSocket>();
  const subprotocols: string[] = [];

  wss.on("connection", (ws: WebSocket, req: IncomingMessage) => {
    sockets.add(ws);
    subprotocols.push(ws.protocol);
    ws.once("close", () => sockets.delete(ws));
    // ws's socket has the WebSocket shape qmux reads, but its handler types are Node's own.
    const transport = QmuxSession.accept(ws as unknown as Parameters<typeof QmuxSession.accept>[0]);
    // `protocol` is read off the socket once the session starts, so wait for that first.
    transport.ready.then(() => Moq.Connection.accept(transport, new URL(req.url ?? "/", "http://127.0.0.1"))).then(
      (conn) => {
        for (const b of broadcasts) conn.publish(Moq.Path.from(b.path), b.broadcast);
        sessions.push(conn);
        waiters.notify();
      },
      () => ws.terminate(),
    );
  });

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;

  const broadcast = (path: string): BroadcastWriter => {
    const b = new BroadcastWriter(path);
    broadcasts.push(b);
    for (const conn of sessions) conn.publish(Moq.Path.from(path), b.broadcast);
    return b;
  };

  return {
    port,
    sessions,
    subprotocols,
    url: (path = "") => new URL(`http://127.0.0.1:${port}/${path}`),
    session: (path, ms = 5000) => {
      const want = `/${Moq.Path.from(path)}`;
      return waiters.wait(() => sessions.find((s) => s.url.pathname === want), ms, `the reference server to accept a session at ${want}`);
    },
    broadcast,
    publish: (path, track) => broadcast(path).track(track),
    async close() {
      for (const b of broadcasts) b.close();
      for (const conn of sessions) conn.close();
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
