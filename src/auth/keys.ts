// The keys the relay verifies tokens with: one JWK file, several (by kid), or a JWKS document from a
// file or URL. Re-read every `refresh` so keys rotate without a restart; a bad reload keeps the
// last good set and logs why.
import { readFile } from "node:fs/promises";
import type { AuthConfig } from "../config/types.js";
import { parseKey, type Jwk } from "../token/key.js";
import type { Logger } from "../util/log.js";

export class KeyStore {
  private byKid = new Map<string, Jwk>();
  private all: Jwk[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: AuthConfig,
    private readonly log: Logger,
  ) {}

  /** True when tokens can be verified at all. */
  get configured(): boolean {
    return this.cfg.key !== undefined || this.cfg.keys.length > 0 || this.cfg.jwks !== undefined;
  }

  /** Load keys; a failure here is fatal (the operator's config is wrong). */
  async start(): Promise<void> {
    if (!this.configured) return;
    await this.reload();
    if (this.cfg.refresh > 0) {
      this.timer = setInterval(() => {
        this.reload().catch((err: unknown) => this.log.warn({ err }, "key reload failed; keeping the previous keys"));
      }, this.cfg.refresh);
      this.timer.unref();
    }
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    const keys: Jwk[] = [];
    const files = [...(this.cfg.key !== undefined ? [this.cfg.key] : []), ...this.cfg.keys];
    for (const file of files) {
      const text = await readFile(file, "utf8");
      try {
        keys.push(parseKey(text));
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
    }
    if (this.cfg.jwks !== undefined) keys.push(...(await this.loadJwks(this.cfg.jwks)));
    const byKid = new Map<string, Jwk>();
    for (const k of keys) if (k.kid !== undefined) byKid.set(k.kid, k);
    const changed = keys.length !== this.all.length || keys.some((k, i) => JSON.stringify(k) !== JSON.stringify(this.all[i]));
    this.all = keys;
    this.byKid = byKid;
    if (changed) this.log.info({ keys: keys.length, kids: [...byKid.keys()] }, "verification keys loaded");
  }

  private async loadJwks(source: string): Promise<Jwk[]> {
    let text: string;
    if (/^https?:\/\//.test(source)) {
      const res = await fetch(source, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`JWKS ${source}: HTTP ${res.status}`);
      text = await res.text();
    } else {
      text = await readFile(source, "utf8");
    }
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) throw new Error(`JWKS ${source}: expected {"keys": [...]}`);
    return ((doc as { keys: unknown[] }).keys).map((k) => parseKey(JSON.stringify(k)));
  }

  /** The key for a token's kid; a kid-less token only works when exactly one key is loaded. */
  find(kid: string | undefined): Jwk | undefined {
    if (kid !== undefined) return this.byKid.get(kid) ?? (this.all.length === 1 && this.all[0].kid === undefined ? this.all[0] : undefined);
    return this.all.length === 1 ? this.all[0] : undefined;
  }
}
