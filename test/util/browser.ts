// Headless Chromium (Debian's, never a downloaded build) driven by playwright-core, with a test
// page bundling the real @moq/net client.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);

export interface BrowserHarness {
  browser: Browser;
  pageUrl: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHarness> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL("./page/moq-page.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    write: false,
    logLevel: "silent",
  });
  const dir = mkdtempSync(join(tmpdir(), "moq-page-"));
  writeFileSync(join(dir, "moq.js"), out.outputFiles[0].contents);
  const html = `<!doctype html><meta charset="utf-8"><title>moq test</title><script type="module" src="/moq.js"></script>`;
  const server: Server = createServer((req, res) => {
    if (req.url === "/moq.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(out.outputFiles[0].contents);
    else res.writeHead(200, { "Content-Type": "text/html" }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No --disable-quic: WebTransport needs QUIC. The rest keeps Chromium off the (closed) network.
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 30_000,
  });
  const pageUrl = `http://127.0.0.1:${port}/`;
  return {
    browser,
    pageUrl,
    async newPage() {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      // tsx keeps function names by wrapping them in __name(); functions handed to page.evaluate
      // carry those calls into the page, so give the page a no-op __name.
      await page.addInitScript({ content: "globalThis.__name = (f) => f;" });
      await page.goto(pageUrl);
      await page.waitForFunction(() => (globalThis as { moq?: unknown }).moq !== undefined);
      return page;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
