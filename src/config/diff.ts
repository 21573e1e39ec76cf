// Which keys differ between two loaded configs, and which of those a reload can apply: the
// answer comes from the schema's `live` marks, so --check, the reload and the docs agree.
import { isDeepStrictEqual } from "node:util";
import { isLive, keyPaths } from "./schema.js";
import type { Config } from "./types.js";

/** The value of "section.key" ("server.quic.idle_timeout" reads config.server.quic.idle_timeout). */
export function valueAt(config: Config, path: string): unknown {
  let node: unknown = config;
  for (const part of path.split(".")) node = node === undefined || node === null ? undefined : (node as Record<string, unknown>)[part];
  return node;
}

export interface ConfigDiff {
  /** Changed keys a reload applies. */
  live: string[];
  /** Changed keys that need a restart (a reload logs and ignores them). */
  restart: string[];
}

export function diffConfig(running: Config, next: Config): ConfigDiff {
  const changed = keyPaths().filter((p) => !isDeepStrictEqual(valueAt(running, p), valueAt(next, p)));
  return { live: changed.filter(isLive), restart: changed.filter((p) => !isLive(p)) };
}

/** Every key, split by what a reload does with a change to it. */
export function reloadTable(): ConfigDiff {
  const all = keyPaths();
  return { live: all.filter(isLive), restart: all.filter((p) => !isLive(p)) };
}
