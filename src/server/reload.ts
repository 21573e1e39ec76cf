// SIGHUP: apply a freshly loaded config to the running relay without dropping sessions. Keys the
// schema marks live are applied (certificate files, auth keys and public prefixes, log level,
// limits, cache budget); every other changed key is logged as ignored until a restart. Each
// part is applied all-or-nothing: if the new keys cannot be loaded, the running ones stay.
import { diffConfig } from "../config/diff.js";
import type { Config } from "../config/types.js";
import type { CertStore } from "../transport/tls/cert.js";
import type { RelayContext } from "./context.js";

export interface ReloadResult {
  /** Live keys whose change was applied. */
  applied: string[];
  /** Changed keys that need a restart and were left as they run. */
  ignored: string[];
  /** Live keys whose new value could not be applied (the running value stays). */
  failed: string[];
}

type Ctx = Pick<RelayContext, "config" | "log" | "auth" | "origin"> & { readonly certs: Pick<CertStore, "rotate"> };

/** Copy `keys` of `from` into `into` (a running config section, mutated in place). */
function assign<T extends object>(into: T, from: T, keys: string[]): void {
  for (const k of keys) (into as Record<string, unknown>)[k] = structuredClone((from as Record<string, unknown>)[k]);
}

function keysOf(changed: string[], section: string): string[] {
  return changed.filter((p) => p.startsWith(`${section}.`) && !p.slice(section.length + 1).includes(".")).map((p) => p.slice(section.length + 1));
}

export async function reloadConfig(ctx: Ctx, next: Config): Promise<ReloadResult> {
  const { config, log } = ctx;
  const diff = diffConfig(config, next);
  const result: ReloadResult = { applied: [], ignored: [...diff.restart], failed: [] };
  // The certificate pair is live only while files are used before and after (not generate).
  const filesBoth = config.tls.cert !== undefined && next.tls.cert !== undefined;
  const tlsKeys = keysOf(diff.live, "tls");
  if (!filesBoth && tlsKeys.length > 0) result.ignored.push(...tlsKeys.map((k) => `tls.${k}`));
  for (const key of result.ignored) log.warn({ key }, "config key changed but needs a restart; ignored until then");

  // Certificate files: re-read on every reload (certbot renewals reload the relay), new paths too.
  if (filesBoth) {
    const old = { cert: config.tls.cert, key: config.tls.key };
    assign(config.tls, next.tls, tlsKeys);
    try {
      await ctx.certs.rotate();
      result.applied.push(...tlsKeys.map((k) => `tls.${k}`));
    } catch (err) {
      Object.assign(config.tls, old);
      result.failed.push(...tlsKeys.map((k) => `tls.${k}`));
      log.error({ err }, "reload: certificate could not be loaded; keeping the running one");
    }
  }

  // Auth: swap the section's live keys, then re-read the key sources; undo both if that fails.
  const authKeys = keysOf(diff.live, "auth");
  if (authKeys.length > 0 || ctx.auth.keys.configured) {
    const before = structuredClone(config.auth);
    assign(config.auth, next.auth, authKeys);
    try {
      if (ctx.auth.keys.configured) await ctx.auth.keys.reload();
      result.applied.push(...authKeys.map((k) => `auth.${k}`));
    } catch (err) {
      assign(config.auth, before, authKeys);
      result.failed.push(...authKeys.map((k) => `auth.${k}`));
      log.error({ err }, "reload: auth keys could not be loaded; keeping the running keys and prefixes");
    }
  }

  if (diff.live.includes("log.level")) {
    config.log.level = next.log.level;
    log.level = next.log.level;
    result.applied.push("log.level");
  }
  if (diff.live.includes("cache.max_bytes")) {
    config.cache.max_bytes = next.cache.max_bytes;
    ctx.origin.cache.setBudget(next.cache.max_bytes);
    result.applied.push("cache.max_bytes");
  }
  // Read per session or per request from the running config, so assigning them applies them.
  for (const section of ["limits", "http"] as const) {
    const keys = keysOf(diff.live, section);
    assign(config[section], next[section], keys);
    result.applied.push(...keys.map((k) => `${section}.${k}`));
  }
  log.info({ applied: result.applied, ignored: result.ignored, failed: result.failed }, "configuration reloaded");
  return result;
}
