// Headless Chromium (Debian's /usr/bin/chromium, never a downloaded build) driven by
// playwright-core, running the real @moq/net client in a page bundled at test time.
// Page calls cross page.evaluate with a deadline enforced in the page (so the page reports what
// it waited for) and a slightly longer one here (so a wedged page cannot hang the test).
import { createHash, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { PAGE_GLOBAL, type ConnInfo, type PageApi, type PageConnectOptions, type WireGroup } from "./page/api.js";
import { fromBase64, toBase64 } from "./page/bytes.js";
import { DEFAULT_TIMEOUT_MS, toBytes, within, type FrameInput, type GroupOptions, type ReceivedFrame, type ReceivedGroup } from "./page/core.js";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

export interface BrowserHarness {
  browser: Browser;
  /** http://127.0.0.1:PORT/ — the test page (a secure context, as WebTransport requires). */
  pageUrl: string;
  /** A bare Playwright page with the bundle loaded (`globalThis.moq` legacy API). */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Hex SHA-256 of a certificate's DER (PEM or DER in), as `serverCertificateHashes` pins it. */
export function certificateHash(cert: string | Uint8Array): string {
  const der = typeof cert === "string" ? new X509Certificate(cert).raw : cert;
  return createHash("sha256").update(der).digest("hex");
}

const HTML = `<!doctype html><meta charset="utf-8"><title>moq harness</title><script type="module" src="/moq.js"></script>`;

/** Bundle the page script into a fresh temp dir, serve it on 127.0.0.1 and start Chromium. */
export async function launchBrowser(): Promise<BrowserHarness> {
  const dir = await mkdtemp(join(tmpdir(), "moq-page-"));
  const script = join(dir, "moq.js");
  let server: Server | undefined;
  let browser: Browser | undefined;
  try {
    await build({
      entryPoints: [fileURLToPath(new URL("./page/moq-page.ts", import.meta.url))],
      outfile: script,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "chrome120",
      logLevel: "silent",
    });
    const js = await readFile(script);
    server = createServer((req, res) => {
      if (req.url === "/moq.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(js);
      else if (req.url === "/" || req.url?.startsWith("/?")) res.writeHead(200, { "Content-Type": "text/html" }).end(HTML);
      else res.writeHead(req.url === "/favicon.ico" ? 204 : 404).end();
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(0, "127.0.0.1", resolve);
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // No --disable-quic: WebTransport needs QUIC. The rest keeps Chromium off the network.
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 30_000,
    });
  } catch (err) {
    await browser?.close().catch(() => undefined);
    server?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const pageUrl = `http://127.0.0.1:${port}/`;
  const b = browser;
  const s = server;
  return {
    browser: b,
    pageUrl,
    async newPage() {
      const page = await b.newPage();
      page.setDefaultTimeout(15_000);
      // tsx keeps function names by wrapping them in __name(); functions handed to page.evaluate
      // carry those calls into the page, so give the page a no-op __name.
      await page.addInitScript({ content: "globalThis.__name = (f) => f;" });
      await page.goto(pageUrl);
      await page.waitForFunction((name) => Reflect.has(globalThis, name), PAGE_GLOBAL, { timeout: 10_000 });
      return page;
    },
    async close() {
      await b.close().catch(() => undefined);
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh page with the client loaded, collecting its console for failure messages. */
export async function openPage(harness: BrowserHarness, timeoutMs = 10_000): Promise<MoqPage> {
  const page = await harness.browser.newPage();
  await page.addInitScript({ content: "globalThis.__name = (f) => f;" });
  const moq = new MoqPage(page);
  try {
    await page.goto(harness.pageUrl, { timeout: timeoutMs });
    await within(
      page.waitForFunction((name) => Reflect.has(globalThis, name), PAGE_GLOBAL, { timeout: timeoutMs }),
      timeoutMs + 1000,
      `the test page to load the client (console: ${moq.logs.slice(-5).join(" | ")})`,
    );
  } catch (err) {
    await moq.close();
    throw err;
  }
  return moq;
}

// ---- handles on the client inside a page ------------------------------------------------------

/** Extra time Node allows a page call beyond the page's own deadline. */
const SLACK_MS = 3000;

type Op = keyof PageApi;
type Result<K extends Op> = Awaited<ReturnType<PageApi[K]>>;

export type PageConnOptions = Partial<PageConnectOptions>;

function wireFrames(frames: readonly FrameInput[]): string[] {
  return frames.map((f) => toBase64(toBytes(f)));
}

function unwire(g: WireGroup): ReceivedGroup {
  return { sequence: g.sequence, frames: g.frames.map(fromBase64) };
}

export class MoqPage {
  readonly page: Page;
  /** The page's console and uncaught errors, newest last (kept to the last 500). */
  readonly logs: string[] = [];

  constructor(page: Page) {
    this.page = page;
    const keep = (line: string): void => {
      this.logs.push(line);
      if (this.logs.length > 500) this.logs.shift();
    };
    page.on("console", (m) => keep(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => keep(`pageerror: ${e.message}`));
  }

  /** Invoke a page API operation; `ms` bounds it (the page's own deadline plus slack). */
  call<K extends Op>(op: K, args: Parameters<PageApi[K]>, ms: number): Promise<Result<K>> {
    const run = this.page.evaluate(
      ({ global, op, args }) => {
        const api = Reflect.get(globalThis, global) as Record<string, (...a: unknown[]) => unknown>;
        return api[op](...args);
      },
      { global: PAGE_GLOBAL, op, args: args as unknown[] },
    ) as Promise<Result<K>>;
    return within(run, ms + SLACK_MS, `the page to finish ${op}`);
  }

  /**
   * Connect from the page. Default transport "websocket" (WebTransport hidden); for
   * "webtransport" pass `certificateHash` (hex SHA-256 of the relay's DER certificate).
   */
  async connect(url: string | URL, opts: PageConnOptions = {}): Promise<PageConn> {
    const full: PageConnectOptions = { transport: "websocket", timeoutMs: DEFAULT_TIMEOUT_MS, ...opts };
    const info = await this.call("connect", [new URL(url).href, full], full.timeoutMs);
    return new PageConn(this, info);
  }

  async close(): Promise<void> {
    await this.page.close().catch(() => undefined);
  }
}

export class PageConn {
  readonly #page: MoqPage;
  readonly id: number;
  /** The negotiated protocol, e.g. "moq-lite-05". */
  readonly version: string;
  readonly transport: "webtransport" | "websocket";

  constructor(page: MoqPage, info: ConnInfo) {
    this.#page = page;
    this.id = info.id;
    this.version = info.version;
    this.transport = info.transport;
  }

  async publish(path: string, track: string): Promise<PagePublisher> {
    const id = await this.#page.call("publish", [this.id, path, track], DEFAULT_TIMEOUT_MS);
    return new PagePublisher(this.#page, id, track);
  }

  /** Resolve once `path` under `prefix` is announced to the page (two-argument form: prefix ""). */
  waitAnnounced(path: string): Promise<void>;
  waitAnnounced(prefix: string, path: string, ms?: number): Promise<void>;
  waitAnnounced(a: string, b?: string, ms = DEFAULT_TIMEOUT_MS): Promise<void> {
    const [prefix, path] = b === undefined ? ["", a] : [a, b];
    return this.#page.call("waitAnnounced", [this.id, prefix, path, ms], ms);
  }

  async subscribe(path: string, track: string): Promise<PageReader> {
    const id = await this.#page.call("subscribe", [this.id, path, track], DEFAULT_TIMEOUT_MS);
    return new PageReader(this.#page, id);
  }

  close(ms = DEFAULT_TIMEOUT_MS): Promise<void> {
    return this.#page.call("closeConn", [this.id, ms], ms);
  }
}

export class PagePublisher {
  readonly #page: MoqPage;
  readonly #id: number;
  readonly track: string;

  constructor(page: MoqPage, id: number, track: string) {
    this.#page = page;
    this.#id = id;
    this.track = track;
  }

  /** Write a group from the page; `keepOpen` returns a handle to add frames and close it. */
  async group(frames: readonly FrameInput[], opts: GroupOptions = {}): Promise<PageGroup> {
    const sequence = await this.#page.call("group", [this.#id, wireFrames(frames), opts], DEFAULT_TIMEOUT_MS);
    return new PageGroup(this.#page, this.#id, sequence);
  }

  waitSubscribed(ms = DEFAULT_TIMEOUT_MS): Promise<void> {
    return this.#page.call("waitSubscribed", [this.#id, ms], ms);
  }

  /** End the broadcast (unannounces it). */
  close(): Promise<void> {
    return this.#page.call("unpublish", [this.#id], DEFAULT_TIMEOUT_MS);
  }
}

export class PageGroup {
  readonly #page: MoqPage;
  readonly #pub: number;
  readonly sequence: number;

  constructor(page: MoqPage, pub: number, sequence: number) {
    this.#page = page;
    this.#pub = pub;
    this.sequence = sequence;
  }

  write(frames: readonly FrameInput[], close = false): Promise<void> {
    return this.#page.call("writeFrames", [this.#pub, this.sequence, wireFrames(frames), close], DEFAULT_TIMEOUT_MS);
  }

  close(): Promise<void> {
    return this.write([], true);
  }
}

export class PageReader {
  readonly #page: MoqPage;
  readonly #id: number;

  constructor(page: MoqPage, id: number) {
    this.#page = page;
    this.#id = id;
  }

  async nextGroup(ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedGroup> {
    return unwire(await this.#page.call("nextGroup", [this.#id, ms], ms));
  }

  /** `count` whole groups sorted by sequence (order-insensitive; see Reader.readGroups). */
  async readGroups(count: number, ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedGroup[]> {
    return (await this.#page.call("readGroups", [this.#id, count, ms], ms)).map(unwire);
  }

  async nextFrame(ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedFrame> {
    const f = await this.#page.call("nextFrame", [this.#id, ms], ms);
    return { group: f.group, index: f.index, payload: fromBase64(f.payload) };
  }

  close(): Promise<void> {
    return this.#page.call("unsubscribe", [this.#id], DEFAULT_TIMEOUT_MS);
  }
}
