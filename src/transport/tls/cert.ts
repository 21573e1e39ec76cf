// The relay's TLS identity, shared by the TCP port (HTTPS/WSS) and QUIC: PEM files from
// [tls] cert/key, re-read when they change on disk, or a generated self-signed certificate that
// is renewed at 3/4 of its life and swapped in for new handshakes (open connections keep theirs).
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createSecureContext, type SecureContext } from "node:tls";
import type { TlsConfig } from "../../config/types.js";
import type { Logger } from "../../util/log.js";
import { fromPem, MAX_GENERATED_LIFETIME, selfSigned, type Certificate } from "./certificate.js";

export { fromPem, selfSigned, MAX_GENERATED_LIFETIME, type Certificate } from "./certificate.js";

export interface CertStoreOptions {
  /** Validity of generated certificates (ms), backdating included; at most (and by default) 14 days. */
  lifetime?: number;
  /** Fraction of a generated certificate's life after which it is replaced. Default 0.75. */
  renewAt?: number;
  /** How often PEM files are checked for changes (ms). Default 5 s. */
  watchInterval?: number;
}

type Listener = (cert: Certificate) => void;

// setTimeout fires at once for delays above 2^31-1 ms; longer waits are taken in steps.
const MAX_TIMER = 2_147_483_647;

export class CertStore {
  private cert: Certificate;
  private context: SecureContext | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly watched: string[] = [];
  private closed = false;

  private constructor(
    private readonly cfg: TlsConfig,
    private readonly log: Logger,
    private readonly opts: Required<CertStoreOptions>,
    first: Certificate,
  ) {
    this.cert = first;
  }

  /** Load the configured PEM pair, or generate a certificate for `generate` hosts. */
  static async create(cfg: TlsConfig, log: Logger, options: CertStoreOptions = {}): Promise<CertStore> {
    const opts: Required<CertStoreOptions> = {
      lifetime: options.lifetime ?? MAX_GENERATED_LIFETIME,
      renewAt: options.renewAt ?? 0.75,
      watchInterval: options.watchInterval ?? 5000,
    };
    if (!(opts.renewAt > 0 && opts.renewAt < 1)) throw new RangeError("renewAt must be between 0 and 1");
    if (cfg.cert !== undefined || cfg.key !== undefined) {
      if (cfg.cert === undefined || cfg.key === undefined) throw new Error("tls: cert and key must be given together");
      const store = new CertStore(cfg, log, opts, readPair(cfg.cert, cfg.key));
      store.watch(cfg.cert, cfg.key);
      store.warnIfExpiring();
      return store;
    }
    const store = new CertStore(cfg, log, opts, await selfSigned(hostsOf(cfg), opts.lifetime));
    store.logGenerated();
    store.scheduleRenewal();
    return store;
  }

  get current(): Certificate {
    return this.cert;
  }
  get certPem(): string {
    return this.cert.certPem;
  }
  get keyPem(): string {
    return this.cert.keyPem;
  }
  /** Leaf certificate, DER. */
  get der(): Uint8Array {
    return this.cert.der;
  }
  /** Lowercase hex SHA-256 of the leaf DER. */
  get fingerprint(): string {
    return this.cert.fingerprint;
  }
  get notAfter(): Date {
    return this.cert.notAfter;
  }
  /** True when the certificate is generated here (and renewed) rather than read from files. */
  get generated(): boolean {
    return this.cfg.cert === undefined;
  }

  /** A node:tls context for the current certificate; read it per handshake so rotations apply. */
  get secureContext(): SecureContext {
    this.context ??= createSecureContext({ cert: this.cert.certPem, key: this.cert.keyPem });
    return this.context;
  }

  /** Called with every new certificate. Returns a function that removes the listener. */
  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Replace the certificate now: a fresh one in generated mode, the files re-read otherwise.
   * Resolves with the certificate in use afterwards.
   */
  async rotate(): Promise<Certificate> {
    if (this.closed) return this.cert;
    if (this.cfg.cert !== undefined && this.cfg.key !== undefined) {
      this.set(readPair(this.cfg.cert, this.cfg.key));
      this.log.info({ fingerprint: this.cert.fingerprint, notAfter: this.cert.notAfter.toISOString() }, "reloaded certificate from disk");
      this.warnIfExpiring();
      return this.cert;
    }
    const next = await selfSigned(hostsOf(this.cfg), this.opts.lifetime);
    if (this.closed) return this.cert;
    this.set(next);
    this.logGenerated();
    this.scheduleRenewal();
    return this.cert;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.reloadTimer);
    for (const path of this.watched) unwatchFile(path);
    this.watched.length = 0;
    this.listeners.clear();
  }

  private set(cert: Certificate): void {
    this.cert = cert;
    this.context = undefined;
    for (const l of this.listeners) {
      try {
        l(cert);
      } catch (err) {
        this.log.error({ err }, "certificate change listener failed");
      }
    }
  }

  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    const { notBefore, notAfter } = this.cert;
    const at = notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * this.opts.renewAt;
    const arm = (): void => {
      const wait = at - Date.now();
      this.renewTimer = setTimeout(
        () => {
          if (at - Date.now() > 0) return arm();
          this.rotate().catch((err: unknown) => {
            // Try again soon rather than serve an expiring certificate.
            this.log.error({ err }, "certificate renewal failed");
            this.renewTimer = setTimeout(arm, 60_000).unref();
          });
        },
        Math.max(0, Math.min(wait, MAX_TIMER)),
      );
      this.renewTimer.unref();
    };
    arm();
  }

  private watch(certPath: string, keyPath: string): void {
    // Polling survives the rename-into-place that certbot and friends do. Both files usually
    // change together, so wait a moment and reload once.
    const changed = (): void => {
      clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => {
        this.rotate().catch((err: unknown) => this.log.warn({ err }, "certificate reload failed; keeping the previous one"));
      }, Math.min(250, this.opts.watchInterval));
      this.reloadTimer.unref();
    };
    for (const path of new Set([certPath, keyPath])) {
      watchFile(path, { interval: this.opts.watchInterval, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) changed();
      });
      this.watched.push(path);
    }
  }

  private warnIfExpiring(): void {
    const left = this.cert.notAfter.getTime() - Date.now();
    if (left < 7 * 86_400_000) this.log.warn({ notAfter: this.cert.notAfter.toISOString(), fingerprint: this.cert.fingerprint }, left <= 0 ? "certificate has expired" : "certificate expires within a week");
  }

  private logGenerated(): void {
    this.log.info({ hosts: hostsOf(this.cfg), fingerprint: this.cert.fingerprint, notAfter: this.cert.notAfter.toISOString() }, "generated self-signed certificate");
  }
}

function hostsOf(cfg: TlsConfig): string[] {
  return cfg.generate !== undefined && cfg.generate.length > 0 ? cfg.generate : ["localhost"];
}

function readPair(certPath: string, keyPath: string): Certificate {
  return fromPem(readFileSync(certPath, "utf8"), readFileSync(keyPath, "utf8"));
}
