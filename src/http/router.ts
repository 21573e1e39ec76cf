// A small HTTP router for the relay's TCP port: exact and prefix routes, CORS, and a landing page
// for browsers that wander in. No framework: the route table is short and the hot path is WebSocket.
import type { IncomingMessage, ServerResponse } from "node:http";

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, rest: string) => void | Promise<void>;

interface Route {
  path: string;
  prefix: boolean;
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly cors: string) {}

  /** Exact path, or a prefix when `path` ends with "/" (the remainder is handed to the handler). */
  get(path: string, handler: Handler): this {
    this.routes.push({ path, prefix: path.endsWith("/"), handler });
    return this;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("Access-Control-Allow-Origin", this.cors);
    const url = new URL(req.url ?? "/", "http://relay");
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET, OPTIONS", "Access-Control-Allow-Headers": "*", "Access-Control-Max-Age": "86400" }).end();
      return;
    }
    for (const r of this.routes) {
      const match = r.prefix ? url.pathname.startsWith(r.path) || url.pathname === r.path.slice(0, -1) : url.pathname === r.path;
      if (!match) continue;
      if (req.method !== "GET" && req.method !== "HEAD") {
        text(res, 405, "method not allowed\n", { Allow: "GET, OPTIONS" });
        return;
      }
      const rest = r.prefix ? decodeURIComponent(url.pathname.slice(r.path.length)) : "";
      Promise.resolve(r.handler(req, res, url, rest)).catch((err: unknown) => {
        if (!res.headersSent) text(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}\n`);
        else res.destroy();
      });
      return;
    }
    text(res, 404, "moq-relay: this is a Media over QUIC relay. Connect with a MoQ client (WebTransport, or QMux over WebSocket).\n");
  }
}

export function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...headers }).end(body);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(`${JSON.stringify(body)}\n`);
}
