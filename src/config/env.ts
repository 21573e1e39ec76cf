// MOQ_<SECTION>_<KEY> environment variables and command-line flags, turned into per-key entries
// that the loader layers over the file. Both name themselves in errors, since they have no line.
import { ConfigError, suggest } from "./errors.js";
import { keyPaths, specOf } from "./schema.js";

export type FlagValue = string | number | boolean | string[] | undefined;

/** A value for one key from the environment or the command line. */
export interface Entry {
  path: string;
  value: unknown;
  /** What the user typed it as: "MOQ_SERVER_BIND", "--bind", "--set server.bind". */
  name: string;
  /** Arrived as a string (lists split on commas, numbers may be digits). */
  text: boolean;
}

/** "server.quic.idle_timeout" → "MOQ_SERVER_QUIC_IDLE_TIMEOUT". */
export function envName(path: string): string {
  return `MOQ_${path.toUpperCase().replace(/\./g, "_")}`;
}

/** Known variables become entries; unknown MOQ_* ones become warnings (a typo should not be silent). */
export function readEnv(env: Record<string, string | undefined>): { entries: Entry[]; warnings: string[] } {
  const known = new Map(keyPaths().map((p) => [envName(p), p]));
  const entries: Entry[] = [];
  const warnings: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("MOQ_")) continue;
    const path = known.get(name);
    if (path === undefined) {
      const hint = suggest(name, [...known.keys()]);
      warnings.push(`unknown environment variable ${name} ignored${hint ? ` (did you mean ${hint}?)` : ""}`);
      continue;
    }
    // An empty variable counts as unset, as shells and compose files often leave them.
    if (value === undefined || value === "") continue;
    entries.push({ path, value, name, text: true });
  }
  return { entries, warnings };
}

/** Named flags for the common keys; everything else is reachable with --set section.key=value. */
export const NAMED_FLAGS: Record<string, { key: string; describe: string }> = {
  bind: { key: "server.bind", describe: "host:port for QUIC (UDP) and HTTP/WebSocket (TCP)" },
  "log-level": { key: "log.level", describe: "trace, debug, info, warn, error, fatal or silent" },
  "log-format": { key: "log.format", describe: "auto, json or pretty" },
  "tls-cert": { key: "tls.cert", describe: "PEM certificate chain file" },
  "tls-key": { key: "tls.key", describe: "PEM private key file" },
  "tls-generate": { key: "tls.generate", describe: "self-signed certificate for these hosts (comma-separated)" },
  "auth-key": { key: "auth.key", describe: "JWK file that verifies tokens" },
  "auth-public": { key: "auth.public", describe: "prefixes anyone may publish and subscribe under (comma-separated)" },
  "cluster-node": { key: "cluster.node", describe: "this relay's own URL" },
  "cluster-nodes": { key: "cluster.nodes", describe: "peer relay URLs (comma-separated)" },
  "cluster-token": { key: "cluster.token", describe: "JWT file presented to peers" },
};

const LIST_TYPES = new Set(["strings", "paths", "public"]);

function unknownKey(path: string, name: string): ConfigError {
  const hint = suggest(path, keyPaths());
  return new ConfigError(`unknown setting${hint ? ` (did you mean ${hint}?)` : ""}`, { key: name });
}

/**
 * Flags as the CLI parsed them: named flags ("bind", "log-level"), `set` ("section.key=value",
 * repeatable) and, for programmatic use, key paths ("server.bind"). Later entries win.
 */
export function readFlags(flags: Record<string, FlagValue>): Entry[] {
  const entries: Entry[] = [];
  const add = (path: string, value: FlagValue, name: string): void => {
    if (value === undefined) return;
    const spec = specOf(path);
    if (spec === undefined) throw unknownKey(path, name);
    if (Array.isArray(value)) {
      // A repeated flag: lists accumulate, single values take the last one.
      if (value.length === 0) return;
      value = LIST_TYPES.has(spec.type as string) ? value.join(",") : value[value.length - 1];
    }
    entries.push({ path, value, name, text: typeof value === "string" });
  };
  for (const [flag, value] of Object.entries(flags)) {
    if (flag === "set") {
      const items = value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
      for (const item of items) {
        const eq = item.indexOf("=");
        if (eq <= 0) throw new ConfigError(`expected section.key=value, got ${JSON.stringify(item)}`, { key: "--set" });
        const path = item.slice(0, eq).trim();
        add(path, item.slice(eq + 1), `--set ${path}`);
      }
    } else if (NAMED_FLAGS[flag] !== undefined) {
      add(NAMED_FLAGS[flag].key, value, `--${flag}`);
    } else if (flag.includes(".")) {
      add(flag, value, `--set ${flag}`);
    } else if (value !== undefined) {
      const hint = suggest(flag, Object.keys(NAMED_FLAGS));
      throw new ConfigError(`unknown flag${hint ? ` (did you mean --${hint}?)` : ""}`, { key: `--${flag}` });
    }
  }
  return entries;
}
