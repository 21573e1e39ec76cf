// The operations listener ([http] ops_bind): plain HTTP, meant for loopback or a private network,
// never started unless configured. Small, bounded: short header and request timeouts, no upgrades.
import { createServer, type Server } from "node:http";
import { Router } from "../http/router.js";
import { parseBind } from "../config/units.js";
import type { Logger } from "../util/log.js";
import type { Ops } from "./index.js";
import { registerOpsRoutes } from "./routes.js";

export interface OpsListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsListener(bind: string, ops: Ops, ready: () => boolean, log: Logger): Promise<OpsListener> {
  const { host, port } = parseBind(bind);
  const router = new Router({ cors: "", log });
  registerOpsRoutes(router, ops, ready);
  const server: Server = createServer({ headersTimeout: 5000, requestTimeout: 10_000, keepAliveTimeout: 5000 }, router.handle);
  server.on("upgrade", (_req, socket) => socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n"));
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.error({ err }, "operations listener error"));
  const a = server.address();
  const bound = typeof a === "object" && a !== null ? a.port : port;
  log.info({ bind, port: bound }, "operations listener on /metrics, /health, /ready, /nodes, /workers");
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
