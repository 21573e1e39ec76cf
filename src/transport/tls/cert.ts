// The relay's TLS identity: PEM files from [tls] cert/key (re-read when they change), or a generated
// self-signed ECDSA P-256 certificate. Browsers accept a self-signed certificate through
// serverCertificateHashes only if it is ECDSA and valid for at most 14 days, so the generated one
// is renewed well before it expires and swapped in for new handshakes.
import { createHash, createPrivateKey, webcrypto, X509Certificate } from "node:crypto";
import { createSecureContext, type SecureContext } from "node:tls";
import { readFileSync, watchFile, unwatchFile } from "node:fs";
import { isIP } from "node:net";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { TlsConfig } from "../../config/types.js";
import type { Logger } from "../../util/log.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const DAY = 86_400_000;

export interface Certificate {
  certPem: string;
  keyPem: string;
  /** Leaf certificate, DER. */
  der: Uint8Array;
  /** Lowercase hex SHA-256 of the leaf DER (what /certificate.sha256 serves). */
  fingerprint: string;
  notAfter: Date;
}

export interface CertStoreOptions {
  /** Lifetime of generated certificates (ms); at most 14 days. */
  lifetime?: number;
}

export class CertStore {
  private cert!: Certificate;
  private context: SecureContext | undefined;
  private timer: NodeJS.Timeout | undefined;
  private listeners: Array<(c: Certificate) => void> = [];
  private readonly lifetime: number;

  private constructor(
    private readonly cfg: TlsConfig,
    private readonly log: Logger,
    opts: CertStoreOptions,
  ) {
    this.lifetime = Math.min(opts.lifetime ?? 14 * DAY, 14 * DAY);
  }

  static async create(cfg: TlsConfig, log: Logger, opts: CertStoreOptions = {}): Promise<CertStore> {
    const store = new CertStore(cfg, log, opts);
    if (cfg.cert !== undefined && cfg.key !== undefined) {
      store.set(fromPem(readFileSync(cfg.cert, "utf8"), readFileSync(cfg.key, "utf8")));
      store.watchFiles(cfg.cert, cfg.key);
    } else {
      await store.regenerate();
    }
    return store;
  }

  get current(): Certificate {
    return this.cert;
  }

  /** A node:tls context for the current certificate (new handshakes pick up rotations). */
  get secureContext(): SecureContext {
    this.context ??= createSecureContext({ cert: this.cert.certPem, key: this.cert.keyPem });
    return this.context;
  }

  onChange(listener: (c: Certificate) => void): void {
    this.listeners.push(listener);
  }

  /** Make a fresh self-signed certificate now and schedule the next one at 3/4 of its life. */
  async regenerate(): Promise<void> {
    const hosts = this.cfg.generate ?? ["localhost"];
    this.set(await selfSigned(hosts, this.lifetime));
    this.log.info({ hosts, fingerprint: this.cert.fingerprint, notAfter: this.cert.notAfter.toISOString() }, "generated self-signed certificate");
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.regenerate().catch((err: unknown) => this.log.error({ err }, "certificate renewal failed"));
    }, Math.floor(this.lifetime * 0.75));
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
    if (this.cfg.cert !== undefined) unwatchFile(this.cfg.cert);
  }

  private set(cert: Certificate): void {
    this.cert = cert;
    this.context = undefined;
    for (const l of this.listeners) l(cert);
  }

  private watchFiles(certPath: string, keyPath: string): void {
    // Polling survives the rename-into-place that certbot and friends do.
    watchFile(certPath, { interval: 5000, persistent: false }, () => {
      try {
        this.set(fromPem(readFileSync(certPath, "utf8"), readFileSync(keyPath, "utf8")));
        this.log.info({ fingerprint: this.cert.fingerprint }, "reloaded certificate from disk");
      } catch (err) {
        this.log.error({ err }, "certificate reload failed; keeping the previous one");
      }
    });
  }
}

export function fromPem(certPem: string, keyPem: string): Certificate {
  const leaf = new X509Certificate(certPem);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error("the private key does not match the certificate");
  const der = new Uint8Array(leaf.raw);
  return { certPem, keyPem, der, fingerprint: createHash("sha256").update(der).digest("hex"), notAfter: new Date(leaf.validTo) };
}

async function selfSigned(hosts: string[], lifetime: number): Promise<Certificate> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  // Backdate a little for clock skew, but keep the whole validity within the browsers' 14 days.
  const notBefore = new Date(Date.now() - 60 * 60_000);
  const notAfter = new Date(notBefore.getTime() + lifetime);
  const names = hosts.map((h) => (isIP(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h }));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex").replace(/^[89a-f]/, "1"),
    name: `CN=${hosts[0] ?? "moq-relay"}`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams["keys"],
    extensions: [
      new x509.SubjectAlternativeNameExtension(names),
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString("base64").replace(/.{64}/g, "$&\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return fromPem(cert.toString("pem"), keyPem);
}
