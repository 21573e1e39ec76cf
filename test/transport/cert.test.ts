import { fetchText, log, startFixture, until, within } from "./fixture.js";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertStore, selfSigned, type Certificate } from "../../src/transport/tls/cert.js";

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), "moq-cert-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a generated certificate is what browsers pin by hash: ECDSA P-256, valid at most 14 days, with our names", async (t) => {
  const certs = await CertStore.create({ generate: ["localhost", "relay.example", "127.0.0.1", "::1"], fingerprints: [] }, log);
  t.after(() => certs.close());
  const x = new X509Certificate(certs.certPem);
  assert.equal(x.publicKey.asymmetricKeyType, "ec");
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.ok(x.verify(x.publicKey), "self-signed");
  assert.equal(x.ca, false);
  const from = new Date(x.validFrom).getTime();
  const to = new Date(x.validTo).getTime();
  assert.ok(to - from <= 14 * DAY, `validity ${(to - from) / DAY} days`);
  assert.ok(to - from > 13 * DAY, "and not needlessly short");
  assert.ok(from < Date.now(), "notBefore is in the past (clock skew)");
  assert.equal(certs.notAfter.getTime(), to);
  const sans = (x.subjectAltName ?? "").split(", ");
  assert.deepEqual(sans.sort(), ["DNS:localhost", "DNS:relay.example", "IP Address:0:0:0:0:0:0:0:1", "IP Address:127.0.0.1"].sort());
  assert.equal(certs.fingerprint, createHash("sha256").update(x.raw).digest("hex"));
  assert.deepEqual(Buffer.from(certs.der), x.raw);
  assert.ok(certs.keyPem.includes("PRIVATE KEY"));
  assert.ok(x.checkPrivateKey((await import("node:crypto")).createPrivateKey(certs.keyPem)));
});

test("a lifetime beyond what browsers accept is refused", async () => {
  await assert.rejects(CertStore.create({ generate: ["localhost"], fingerprints: [] }, log, { lifetime: 15 * DAY }), /14 days/);
});

test("rotating the certificate swaps it for new TLS handshakes and /certificate.sha256", async (t) => {
  const f = await startFixture();
  t.after(() => f.close());
  const url = `https://127.0.0.1:${f.port}/certificate.sha256`;
  const old = f.certs.current;
  const first = await fetchText(url, { ca: old.certPem });
  assert.equal(first.body, old.fingerprint);
  assert.equal(sha256(first.peerDer), old.fingerprint);

  const announced: Certificate[] = [];
  f.certs.onChange((c) => announced.push(c));
  const next = await f.certs.rotate();
  assert.notEqual(next.fingerprint, old.fingerprint);
  assert.deepEqual(announced.map((c) => c.fingerprint), [next.fingerprint]);

  const second = await fetchText(url, { ca: next.certPem });
  assert.equal(sha256(second.peerDer), next.fingerprint, "the new handshake presents the new certificate");
  assert.equal(second.body, next.fingerprint);
  assert.equal((await fetchText(`http://127.0.0.1:${f.port}/certificate.sha256`)).body, next.fingerprint);
});

test("a generated certificate renews itself before it expires", async (t) => {
  const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log, { lifetime: 2000 });
  t.after(() => certs.close());
  const first = certs.current;
  const renewed = await within(new Promise<Certificate>((resolve) => certs.onChange(resolve)), 5000, "the renewal");
  assert.notEqual(renewed.fingerprint, first.fingerprint);
  assert.ok(Date.now() < first.notAfter.getTime(), "renewed while the old one was still valid");
  assert.ok(renewed.notAfter > first.notAfter);
});

test("PEM files are loaded, and reloaded when they change on disk; a broken pair keeps the old one", async (t) => {
  const a = await selfSigned(["localhost"], DAY);
  const b = await selfSigned(["localhost"], DAY);
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  writeFileSync(certPath, a.certPem);
  writeFileSync(keyPath, a.keyPem);
  const certs = await CertStore.create({ cert: certPath, key: keyPath, fingerprints: [] }, log, { watchInterval: 50 });
  t.after(() => certs.close());
  assert.equal(certs.fingerprint, a.fingerprint);
  assert.equal(certs.generated, false);

  // Only the certificate changes: the pair no longer matches, so the old one stays.
  writeFileSync(certPath, b.certPem);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(certs.fingerprint, a.fingerprint);

  writeFileSync(keyPath, b.keyPem);
  await until(() => certs.fingerprint === b.fingerprint, 5000, "the reload");
  assert.equal(certs.certPem, b.certPem);
});

test("a key that does not match the certificate is refused at start", async () => {
  const a = await selfSigned(["localhost"], DAY);
  const b = await selfSigned(["localhost"], DAY);
  writeFileSync(join(dir, "c2.pem"), a.certPem);
  writeFileSync(join(dir, "k2.pem"), b.keyPem);
  await assert.rejects(CertStore.create({ cert: join(dir, "c2.pem"), key: join(dir, "k2.pem"), fingerprints: [] }, log), /does not match/);
});

function sha256(der: Buffer | undefined): string {
  assert.ok(der, "a peer certificate");
  return createHash("sha256").update(der).digest("hex");
}
