// Operations routes: /metrics everywhere it is served, plus /health, /ready, /nodes and /workers
// on the operations listener. On the main port (no ops_bind) /metrics answers loopback clients only: it
// tells anyone who can read it how busy the relay is and who refuses whom.
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { json, text, type Router } from "../http/router.js";
import type { Ops } from "./index.js";

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, "");
  return a === "::1" || (isIP(a) === 4 && a.startsWith("127."));
}

export function registerMetricsRoute(router: Router, ops: Ops, opts: { loopbackOnly: boolean }): void {
  router.get("/metrics", async (req: IncomingMessage, res) => {
    if (opts.loopbackOnly && !isLoopbackAddress(req.socket.remoteAddress)) {
      return text(res, 403, "metrics are served to loopback clients only; set [http] ops_bind for a separate operations listener\n");
    }
    const body = await ops.metrics.render();
    res.writeHead(200, { "Content-Type": ops.metrics.contentType, "Cache-Control": "no-store", "Content-Length": String(Buffer.byteLength(body)) });
    res.end(body);
  });
}

/** Everything the operations listener serves. */
export function registerOpsRoutes(router: Router, ops: Ops, ready: () => boolean): void {
  registerMetricsRoute(router, ops, { loopbackOnly: false });
  router.get("/health", (_req, res) => text(res, 200, "ok\n"));
  router.get("/ready", (_req, res) => (ready() ? text(res, 200, "ready\n") : text(res, 503, "draining\n")));
  registerDocRoutes(router, ops, { loopbackOnly: false });
}

/**
 * GET /nodes (the cluster's peers and tracks) and GET /workers (the UDP worker processes): JSON
 * documents, 404 with a line saying why when the relay has no cluster or no worker processes.
 */
export function registerDocRoutes(router: Router, ops: Ops, opts: { loopbackOnly: boolean }): void {
  const doc = (path: string, get: () => (() => unknown) | undefined, none: () => string): void => {
    router.get(path, (req: IncomingMessage, res) => {
      if (opts.loopbackOnly && !isLoopbackAddress(req.socket.remoteAddress)) {
        return text(res, 403, `${path} is served to loopback clients only; set [http] ops_bind for a separate operations listener\n`);
      }
      const fn = get();
      if (fn === undefined) return text(res, 404, `${none()}\n`);
      json(res, 200, fn());
    });
  };
  doc("/nodes", () => ops.nodes, () => "this relay is not part of a cluster");
  doc("/workers", () => ops.workers, () => `UDP is served in the main process: ${ops.noWorkers}`);
}
