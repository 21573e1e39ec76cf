// The relay's page over https:// with a certificate the browser verifies (no /certificate.sha256
// pinning): the page loads over TLS on the TCP port in a secure context, and @moq/publish and
// @moq/watch dial WebTransport to the https:// URL. A test CA stands in for a public one: it signs
// the relay's certificate (files, as in production) and is trusted in the NSS database of a
// throwaway $HOME (certutil, from Debian's libnss3-tools). Chromium accepts a locally installed
// root for HTTPS and WSS, but for WebTransport only with --webtransport-developer-mode (without it:
// QUIC_TLS_CERTIFICATE_UNKNOWN, and the client falls back to WebSocket); a publicly trusted
// certificate needs no flag.
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { webcrypto } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, haveChromium } from "../util/browser.js";
import { startTestRelay, type TestRelay } from "../util/relay.js";
import { within } from "../util/moq.js";

const CERTUTIL = "/usr/bin/certutil";
const skip = (!haveChromium && "no /usr/bin/chromium (apt-get install chromium)") || (!existsSync(CERTUTIL) && "no certutil (apt-get install libnss3-tools)");
const dir = mkdtempSync(join(tmpdir(), "moq-page-https-"));
let relay: TestRelay;
let browser: Browser;
const logs: string[] = [];

before(async () => {
  const { caPem, certPem, keyPem } = await pki();
  writeFileSync(join(dir, "relay.pem"), certPem);
  writeFileSync(join(dir, "relay.key"), keyPem);
  relay = await startTestRelay({ "http.page": "true", "tls.cert": join(dir, "relay.pem"), "tls.key": join(dir, "relay.key") });
  if (skip !== false) return;
  const home = join(dir, "home");
  const nss = join(home, ".pki", "nssdb");
  mkdirSync(nss, { recursive: true });
  writeFileSync(join(dir, "ca.pem"), caPem);
  for (const args of [["-N", "-d", `sql:${nss}`, "--empty-password"], ["-A", "-d", `sql:${nss}`, "-n", "moq test CA", "-t", "C,,", "-i", join(dir, "ca.pem")]]) {
    const r = spawnSync(CERTUTIL, args, { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`certutil ${args[0]} failed: ${r.stderr || r.error?.message}`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--webtransport-developer-mode"],
    env: { ...process.env, HOME: home },
    timeout: 30_000,
  });
});
after(async () => {
  await browser?.close().catch(() => undefined);
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A test CA and a leaf for 127.0.0.1 and localhost signed by it (PEM), valid for a day. */
async function pki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const caKeys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const leafKeys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=moq page test CA",
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys as never,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    issuer: ca.subject,
    subject: "CN=127.0.0.1",
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: leafKeys.publicKey as never,
    signingKey: caKeys.privateKey as never,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "ip", value: "127.0.0.1" },
        { type: "dns", value: "localhost" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString("base64").replace(/.{64}/g, "$&\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString("pem"), certPem: leaf.toString("pem"), keyPem };
}

async function until(page: Page, expr: string, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await within(page.evaluate(expr), 5000, what)) === true) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (${logs.slice(-6).join(" | ") || "no page errors"})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const text = (id: string): string => `(document.getElementById(${JSON.stringify(id)})?.textContent ?? "")`;

test("from https:// with a CA-signed certificate, the page publishes a test pattern and watches it over WebTransport without pinning", { skip, timeout: 90_000 }, async () => {
  const page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || /certificate\.sha256|content security policy/i.test(m.text())) logs.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  const res = await page.goto(`https://127.0.0.1:${relay.port}/`);
  assert.equal(res?.status(), 200);
  assert.equal(await page.evaluate("location.protocol + (isSecureContext ? ' secure' : '')"), "https: secure");
  assert.equal(await page.inputValue("#relay"), `https://127.0.0.1:${relay.port}/anon`);
  await page.selectOption("#transport", "webtransport");
  await page.selectOption("#pub-source", "pattern");
  await page.fill("#pub-name", "tls-bars");
  await page.click("#pub-start");
  await until(page, `${text("pub-state")} === "live"`, 20_000, "the publisher to go live");
  await until(page, `${text("pub-protocol")} !== "–"`, 10_000, "the publisher's protocol");
  assert.equal(await page.textContent("#pub-protocol"), "moq-lite-04 over WebTransport");

  const entry = page.locator('#watch-list button[data-name="tls-bars"]');
  await within(entry.waitFor({ timeout: 15_000 }), 16_000, "tls-bars in the live list");
  await entry.click();
  await until(page, `Number(${text("watch-frames")}) > 30`, 15_000, "30 decoded frames");
  assert.equal(await page.textContent("#watch-protocol"), "moq-lite-05 over WebTransport");
  assert.equal(await page.textContent("#watch-resolution"), "640×360", "the test pattern's size");
  assert.deepEqual(logs.filter((l) => /certificate\.sha256/.test(l)), [], "https:// never fetches the fingerprint");
  assert.deepEqual(logs.filter((l) => /content security policy/i.test(l)), [], "no CSP violations");
  await page.close();
});
