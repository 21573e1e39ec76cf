// Operations routes: /metrics everywhere it is served, plus /health, /ready and /nodes on the
// operations listener. On the main port (no ops_bind) /metrics answers loopback clients only: it
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
  router.get("/nodes", (_req, res) => {
    const nodes = ops.nodes;
    if (nodes === undefined) return text(res, 404, "this relay is not part of a cluster\n");
    json(res, 200, nodes());
  });
}
