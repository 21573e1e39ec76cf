// A small HTTP router for the relay's TCP port: exact and prefix GET routes, CORS, preflight, and
// a plain-text landing for browsers that wander in. No framework: the table is short and the busy
// traffic on this port is WebSocket, which never reaches the router.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../util/log.js";

/**
 * Answers one request. `url` is the parsed request URL; `rest` is the decoded remainder of the
 * path after a prefix route ("" for exact routes).
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, rest: string) => void | Promise<void>;

interface Route {
  path: string;
  prefix: boolean;
  handler: Handler;
}

export interface RouterOptions {
  /** Access-Control-Allow-Origin sent on every response (config.http.cors). */
  cors: string;
  log?: Logger;
}

export const LANDING = "moq-relay: this is a Media over QUIC relay; connect with a MoQ client";

export class Router {
  private readonly routes: Route[] = [];
  private readonly cors: string;
  private readonly log: Logger | undefined;

  constructor(opts: RouterOptions | string) {
    const o = typeof opts === "string" ? { cors: opts } : opts;
    this.cors = o.cors;
    this.log = o.log;
  }

  /**
   * Serve GET (and HEAD) on `path`: exact, or every path below it when it ends with "/"
   * ("/fetch/" matches "/fetch" and "/fetch/a/b" with rest "a/b"). The longest match wins.
   */
  get(path: string, handler: Handler): this {
    if (!path.startsWith("/")) throw new Error(`route ${JSON.stringify(path)} must start with "/"`);
    this.routes.push({ path, prefix: path.endsWith("/"), handler });
    // Longest first, so "/a/b/" wins over "/a/" whatever the registration order.
    this.routes.sort((a, b) => b.path.length - a.path.length);
    return this;
  }

  /** The node:http 'request' listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.cors !== "") res.setHeader("Access-Control-Allow-Origin", this.cors);
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://relay");
    } catch {
      text(res, 400, "bad request target\n");
      return;
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "*",
        "Access-Control-Max-Age": "86400",
      });
      res.end();
      return;
    }
    const match = this.match(url.pathname);
    if (match === undefined) {
      text(res, 404, LANDING);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      text(res, 405, "method not allowed\n", { Allow: "GET, HEAD, OPTIONS" });
      return;
    }
    let rest: string;
    try {
      rest = decodeURIComponent(match.rest);
    } catch {
      text(res, 400, "bad percent-encoding in path\n");
      return;
    }
    let done: void | Promise<void>;
    try {
      done = match.route.handler(req, res, url, rest);
    } catch (err) {
      this.failed(res, url, err);
      return;
    }
    if (done instanceof Promise) done.catch((err: unknown) => this.failed(res, url, err));
  };

  private match(pathname: string): { route: Route; rest: string } | undefined {
    for (const route of this.routes) {
      if (!route.prefix) {
        if (pathname === route.path) return { route, rest: "" };
      } else if (pathname.startsWith(route.path)) {
        return { route, rest: pathname.slice(route.path.length) };
      } else if (pathname === route.path.slice(0, -1)) {
        return { route, rest: "" };
      }
    }
    return undefined;
  }

  private failed(res: ServerResponse, url: URL, err: unknown): void {
    this.log?.error({ err, path: url.pathname }, "http route failed");
    if (!res.headersSent) text(res, 500, "internal error\n");
    else res.destroy();
  }
}

export function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", "Content-Length": String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const s = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", "Content-Length": String(Buffer.byteLength(s)) });
  res.end(s);
}
