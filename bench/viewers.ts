// Benchmark child process: N lean viewers of one transport, driven over IPC by bench/index.ts.
//   → {cmd:"start"}  reset counters (the measured window begins)
//   → {cmd:"stop"}   reply with this window's counters, then keep viewing
//   → {cmd:"exit"}   close everything and exit
// Viewers connect a few at a time so the relay's handshake load does not dominate the start.
import "../test/util/polyfill.js";
import QmuxSession from "@moq/qmux";
import { QuicEndpoint } from "../src/transport/quic/endpoint.js";
import type { Session } from "../src/transport/session.js";
import { WebSocketSession, type QmuxLike } from "../src/transport/websocket/session.js";
import { silentLogger } from "../src/util/log.js";
import { connectWebTransport } from "./lib/h3-client.js";
import { pooled, view, ViewerStats } from "./lib/lite-viewer.js";
import { QUIC } from "./quic-config.js";

export type Transport = "ws" | "quic" | "wt";

export interface ViewersInit {
  transport: Transport;
  port: number;
  /** Auth root, e.g. "/anon". */
  root: string;
  broadcast: string;
  track: string;
  count: number;
}

export interface ViewersReport {
  connected: number;
  failed: number;
  closed: number;
  bytes: number;
  payloadBytes: number;
  frames: number;
  groups: number;
  outOfOrder: number;
  resets: Array<[number, number]>;
  latency: number[];
  groupStart: number[];
  errors: string[];
}

const stats = new ViewerStats();
const sessions: Session[] = [];
const errors: string[] = [];
let failed = 0;
let closed = 0;
/**
 * Client sockets, one per VIEWERS_PER_SOCKET viewers: real viewers come from many addresses, and a
 * relay with [server] workers > 1 spreads flows over its SO_REUSEPORT sockets by address and port,
 * so viewers all on one socket would all land on one worker.
 */
const endpoints: Array<Promise<QuicEndpoint>> = [];
const VIEWERS_PER_SOCKET = 8;
let dials = 0;

function endpointFor(host: string): Promise<QuicEndpoint> {
  const i = Math.floor(dials++ / VIEWERS_PER_SOCKET);
  return (endpoints[i] ??= QuicEndpoint.bind({ host, port: 0, quic: QUIC, log: silentLogger() }));
}

async function dial(init: ViewersInit): Promise<Session> {
  const host = "127.0.0.1";
  switch (init.transport) {
    case "quic": {
      const endpoint = await endpointFor(host);
      return endpoint.connect({ host, port: init.port, serverName: "localhost", alpns: ["moq-lite-05"], insecure: true });
    }
    case "wt": {
      const endpoint = await endpointFor(host);
      return connectWebTransport(endpoint, { host, port: init.port, path: init.root, protocol: "moq-lite-05" });
    }
    case "ws": {
      const url = new URL(`http://${host}:${init.port}${init.root}`);
      const qmux = new QmuxSession(url, { protocols: ["qmux-01.moq-lite-05"], versions: {}, requireProtocol: true });
      await qmux.ready;
      return new WebSocketSession(qmux as unknown as QmuxLike, { subprotocol: "qmux-01.moq-lite-05", protocol: "moq-lite-05", url, remote: `${host}:${init.port}`, terminate: () => qmux.close() });
    }
  }
}

async function start(init: ViewersInit): Promise<void> {
  const before = sessions.length;
  const failedBefore = failed;
  await pooled(
    Array.from({ length: init.count }, (_, i) => i),
    8,
    async () => {
      try {
        const s = await dial(init);
        sessions.push(s);
        s.closed.then(() => closed++, () => closed++);
        await view(s, stats, { broadcast: init.broadcast, track: init.track, setupPath: init.transport === "quic" ? init.root : undefined });
      } catch (e) {
        failed++;
        if (errors.length < 5) errors.push(e instanceof Error ? e.message : String(e));
      }
    },
  );
  process.send?.({ ready: true, connected: sessions.length - before, failed: failed - failedBefore });
}

function report(): ViewersReport {
  return {
    connected: sessions.length,
    failed,
    closed,
    bytes: stats.bytes,
    payloadBytes: stats.payloadBytes,
    frames: stats.frames,
    groups: stats.groups,
    outOfOrder: stats.outOfOrder,
    resets: [...stats.resets],
    latency: stats.latency.counts,
    groupStart: stats.groupStart.counts,
    errors,
  };
}

process.on("message", (m: { cmd: string; init?: ViewersInit }) => {
  switch (m.cmd) {
    case "init":
      start(m.init as ViewersInit).catch((e: unknown) => process.send?.({ ready: true, connected: 0, failed: -1, error: String(e) }));
      break;
    case "start":
      stats.reset();
      process.send?.({ started: true });
      break;
    case "stop":
      process.send?.({ report: report() });
      break;
    case "exit":
      for (const s of sessions) s.close(0, "");
      setTimeout(() => process.exit(0), 100).unref();
      Promise.all(endpoints.map((e) => e.then((ep) => ep.close()))).then(() => process.exit(0), () => process.exit(0));
      break;
  }
});
process.on("disconnect", () => process.exit(0));
