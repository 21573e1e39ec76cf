// GET / and /page/*: the relay's own browser page ([http] page), built from src/web at package
// build time into dist/web. Served from memory with a strict Content-Security-Policy: every script
// is a file from this origin (no inline script, no CDN); the page talks to the relay through the
// same authorised routes and sessions as any other client, so it adds no way around auth.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { LANDING, text, type Router } from "./router.js";

/**
 * The built page. From dist/http/page.js and from src/http/page.ts (tests run the sources) alike,
 * ../../dist/web is the package's dist/web.
 */
export const WEB_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/** Files larger than this are not loaded (the build output is a few MB; anything bigger is a mistake). */
const MAX_FILE = 16 * 1024 * 1024;

/**
 * Scripts only from this origin ('wasm-unsafe-eval' lets the Opus fallback compile its bundled
 * WebAssembly; blob: covers the audio worklet the player builds from its own bundled code).
 * connect-src stays open because the relay URL is the user's to choose (another relay, https://).
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval' blob:",
  "worker-src 'self' blob:",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self' http: https: ws: wss:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
}

export interface PageOptions {
  /** The broadcast root the page suggests (the first public prefix, or ""); read per request, so a reload applies. */
  root(): string;
  /** Where the built page lives (tests may point elsewhere); default WEB_DIR. */
  dir?: string;
}

/**
 * Register / and /page/. The files are read on the first request (a relay that nobody opens in a
 * browser, e.g. in tests, never loads them). A checkout that was never built answers / with 503
 * and the command that builds it.
 */
export function registerPage(router: Router, opts: PageOptions): void {
  const dir = opts.dir ?? WEB_DIR;
  let loaded: { assets: Map<string, Asset>; template: string } | null | undefined;
  const load = (): typeof loaded => {
    if (loaded !== undefined) return loaded;
    if (!existsSync(join(dir, "index.html"))) return null; // not cached: a later build is picked up
    const assets = new Map<string, Asset>();
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      const st = statSync(file);
      if (!st.isFile() || st.size > MAX_FILE || name === "index.html") continue;
      const type = TYPES[extname(name)];
      if (type !== undefined) assets.set(name, asset(readFileSync(file), type));
    }
    loaded = { assets, template: readFileSync(join(dir, "index.html"), "utf8") };
    return loaded;
  };
  let index: { root: string; asset: Asset } | undefined;
  const page = (template: string): Asset => {
    const root = opts.root();
    if (index?.root !== root) index = { root, asset: asset(Buffer.from(template.replaceAll("{{root}}", escapeAttr(root))), TYPES[".html"]) };
    return index.asset;
  };

  // "/" is a prefix route in the router (it ends with "/"): answer only the root itself.
  router.get("/", (req, res, _url, rest) => {
    if (rest !== "") return text(res, 404, LANDING);
    const l = load();
    if (l == null) return text(res, 503, `the browser page is not built (${dir}index.html is missing): run npm run build\n`);
    send(req, res, page(l.template));
  });
  router.get("/page/", (req, res, _url, rest) => {
    const a = load()?.assets.get(rest);
    if (a === undefined) return text(res, 404, "not found\n");
    send(req, res, a);
  });
}

function asset(body: Buffer, type: string): Asset {
  const compressible = !type.startsWith("image/png") && body.length > 1024;
  return { body, gzip: compressible ? gzipSync(body) : undefined, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

function send(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  const headers: Record<string, string> = {
    "Content-Type": a.type,
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    // Revalidate every time: the files change with the relay version, and the ETag makes it cheap.
    "Cache-Control": "no-cache",
    ETag: a.etag,
    Vary: "Accept-Encoding",
  };
  if (req.headers["if-none-match"] === a.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = a.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip && a.gzip !== undefined ? a.gzip : a.body;
  if (gzip) headers["Content-Encoding"] = "gzip";
  headers["Content-Length"] = String(body.length);
  res.writeHead(200, headers).end(body);
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
