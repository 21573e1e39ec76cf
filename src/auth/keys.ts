// The keys the relay verifies tokens with: one JWK file, several (chosen by kid), and/or a JWKS
// document from a file or URL. Keys rotate without a restart: files are watched, everything is
// re-read every `refresh` ms, and a token naming an unknown kid triggers a (rate-limited) re-read.
// A bad reload keeps the last good set and logs why; only the first load is fatal.
import { createHash } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import type { AuthConfig } from "../config/types.js";
import { importKey, verifierOf, type Jwk } from "../token/key.js";
import type { Logger } from "../util/log.js";
import { isUrl, loadJwks, loadKeyFile, SourceUnavailable } from "./sources.js";

/** Least time between re-reads caused by unknown kids, so random kids cannot hammer the sources. */
const MISS_GAP_FILE_MS = 1_000;
const MISS_GAP_URL_MS = 10_000;
/** Editors and `mv` produce bursts of events; settle before re-reading. */
const WATCH_SETTLE_MS = 50;

export class KeyStore {
  private all: Jwk[] = [];
  private byKid = new Map<string, Jwk>();
  private digest = "";
  private queue: Promise<void> = Promise.resolve();
  private lastMiss = 0;
  private timer: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private watchers: FSWatcher[] = [];
  private closed = false;

  constructor(
    private readonly cfg: AuthConfig,
    private readonly log: Logger,
  ) {}

  /** True when tokens can be verified at all. */
  get configured(): boolean {
    return this.cfg.key !== undefined || this.cfg.keys.length > 0 || this.cfg.jwks !== undefined;
  }

  /** Number of keys loaded. */
  get size(): number {
    return this.all.length;
  }

  private get sources(): string[] {
    return [...(this.cfg.key !== undefined ? [this.cfg.key] : []), ...this.cfg.keys, ...(this.cfg.jwks !== undefined ? [this.cfg.jwks] : [])];
  }

  /** Load keys and start watching. A failure here is fatal: the operator's configuration is wrong. */
  async start(): Promise<void> {
    if (!this.configured) return;
    await this.reload();
    if (this.closed) return;
    if (this.cfg.refresh > 0) {
      this.timer = setInterval(() => this.background("refresh"), this.cfg.refresh);
      this.timer.unref();
    }
    this.watch();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.settle !== undefined) clearTimeout(this.settle);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** Re-read every source now; rejects (keeping the current keys) if any source is bad. */
  reload(): Promise<void> {
    const run = this.queue.then(() => this.load());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The key for a token's kid. A kid-less token only matches when exactly one key is loaded. */
  find(kid: string | undefined): Jwk | undefined {
    if (kid === undefined) return this.all.length === 1 ? this.all[0] : undefined;
    const key = this.byKid.get(kid);
    if (key !== undefined) return key;
    // A lone key without a kid verifies whatever kid the token names (the signature decides).
    return this.all.length === 1 && this.all[0].kid === undefined ? this.all[0] : undefined;
  }

  /**
   * Called when no key matched: re-read the sources, at most once per gap (the first miss after a
   * rotation is served at once; a flood of made-up kids costs one re-read per gap). Rejects
   * with SourceUnavailable when a JWKS URL could not be fetched (the caller answers 502).
   */
  async refreshOnMiss(): Promise<void> {
    const gap = this.sources.some(isUrl) ? MISS_GAP_URL_MS : MISS_GAP_FILE_MS;
    if (this.closed || Date.now() - this.lastMiss < gap) return;
    this.lastMiss = Date.now();
    try {
      await this.reload();
    } catch (err) {
      this.log.warn({ err }, "key reload failed; keeping the previous keys");
      if (err instanceof SourceUnavailable) throw err;
    }
  }

  private background(why: string): void {
    if (this.closed) return;
    this.reload().catch((err: unknown) => this.log.warn({ err, why }, "key reload failed; keeping the previous keys"));
  }

  private async load(): Promise<void> {
    const keys: Jwk[] = [];
    if (this.cfg.key !== undefined) keys.push(await loadKeyFile(this.cfg.key));
    for (const file of this.cfg.keys) keys.push(await loadKeyFile(file));
    if (this.cfg.jwks !== undefined) keys.push(...(await loadJwks(this.cfg.jwks, (fields, msg) => this.log.warn(fields, msg))));

    // A digest, not the material, decides whether anything changed (and is safe to keep around).
    const digest = createHash("sha256").update(JSON.stringify(keys)).digest("hex");
    if (digest === this.digest) return;
    // Import now, so a key jose cannot use fails this reload instead of a connection later.
    for (const k of keys) await importKey(verifierOf(k));

    const byKid = new Map<string, Jwk>();
    for (const k of keys) {
      if (k.kid === undefined) continue;
      if (byKid.has(k.kid)) this.log.warn({ kid: k.kid }, "two keys share a kid; using the first");
      else byKid.set(k.kid, k);
    }
    if (keys.length > 1 && keys.some((k) => k.kid === undefined)) this.log.warn("a key without a kid is unreachable when several keys are loaded");
    this.all = keys;
    this.byKid = byKid;
    this.digest = digest;
    this.log.info({ keys: keys.length, kids: [...byKid.keys()] }, "verification keys loaded");
  }

  /** Watch the directories of file sources: replacing a file by rename only shows up there. */
  private watch(): void {
    const dirs = new Set(this.sources.filter((s) => !isUrl(s)).map((s) => dirname(s)));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => {
          if (this.settle !== undefined) clearTimeout(this.settle);
          this.settle = setTimeout(() => this.background("file changed"), WATCH_SETTLE_MS);
          this.settle.unref();
        });
        w.on("error", (err) => {
          this.log.warn({ err, path: dir }, "cannot watch key directory; relying on periodic refresh");
          w.close();
        });
        this.watchers.push(w);
      } catch (err) {
        this.log.warn({ err, path: dir }, "cannot watch key directory; relying on periodic refresh");
      }
    }
  }
}
