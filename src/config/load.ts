// TOML → one validated Config. Precedence per key: command-line flag > MOQ_* environment variable >
// file > default. Each layer only contributes keys it actually sets, so a default can never
// overwrite a value from the file (the Rust relay's CLI defaults silently do).
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { Config } from "./types.js";
import { ConfigError, locate, suggest } from "./errors.js";
import { SCHEMA, memoryLimit, type KeySpec, type KeyType } from "./schema.js";
import { parseBind, parseDuration, parseSize } from "./units.js";
import { normalize } from "../util/path.js";

export type FlagValue = string | number | boolean | string[] | undefined;

export interface LoadOptions {
  /** Config file path; undefined = the embedded development default. */
  file?: string;
  /** Flags as key paths ("server.bind") → raw values, already mapped by the CLI. */
  flags?: Record<string, FlagValue>;
  env?: Record<string, string | undefined>;
  /** Directory that relative paths from flags and env resolve against. */
  cwd?: string;
}

export interface LoadResult {
  config: Config;
  /** True when no file was given and the development defaults apply. */
  dev: boolean;
  warnings: string[];
}

/** The development default: loopback, self-signed certificate, anonymous access under anon/. */
export const DEV_DEFAULTS: Record<string, unknown> = {
  "server.bind": "127.0.0.1:4443",
  "tls.generate": ["localhost", "127.0.0.1"],
  "auth.public": "anon",
};

interface Raw {
  value: unknown;
  /** Where it came from, for error messages. */
  source: "file" | "env" | "flag" | "dev";
  name: string;
  line?: number;
  base: string;
}

export function envName(key: string): string {
  return `MOQ_${key.toUpperCase().replace(/\./g, "_")}`;
}

export function loadConfig(opts: LoadOptions): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const warnings: string[] = [];
  const layers = new Map<string, Raw>();
  const file = opts.file === undefined ? undefined : resolve(cwd, opts.file);

  if (file === undefined) {
    for (const [key, value] of Object.entries(DEV_DEFAULTS)) layers.set(key, { value, source: "dev", name: key, base: cwd });
  } else {
    for (const [key, raw] of readFile(file)) layers.set(key, raw);
  }

  const env = opts.env ?? {};
  const known = new Set<string>();
  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) {
      const path = `${section}.${key}`;
      const name = envName(path);
      known.add(name);
      const v = env[name];
      if (v !== undefined && v !== "") layers.set(path, { value: v, source: "env", name, base: cwd });
    }
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith("MOQ_") && !known.has(name)) warnings.push(`unknown environment variable ${name} ignored`);
  }

  for (const [path, v] of Object.entries(opts.flags ?? {})) {
    if (v === undefined) continue;
    const [section, key] = splitKey(path);
    if (SCHEMA[section]?.[key] === undefined) {
      const hint = suggest(path, allKeys());
      throw new ConfigError(`unknown setting${hint ? ` (did you mean ${hint}?)` : ""}`, { key: `--set ${path}` });
    }
    layers.set(path, { value: v, source: "flag", name: `--${path}`, base: cwd });
  }

  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(SCHEMA)) {
    const target: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(keys)) {
      const path = `${section}.${key}`;
      const raw = layers.get(path);
      target[key] = raw === undefined ? convertDefault(spec) : convert(spec, raw, path, file);
    }
    out[section] = target;
  }

  const config = assemble(out, file);
  check(config, layers, file);
  return { config, dev: file === undefined, warnings };
}

function readFile(file: string): Map<string, Raw> {
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(source) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      throw new ConfigError(`TOML syntax error at column ${e.column}: ${e.message.split("\n")[0].replace(/^Invalid TOML document: /, "")}`, { file, line: e.line });
    }
    throw e;
  }
  const base = dirname(file);
  const out = new Map<string, Raw>();
  const walk = (section: string, table: Record<string, unknown>): void => {
    const spec = SCHEMA[section];
    for (const [key, value] of Object.entries(table)) {
      const line = locate(source, section, key);
      const nested = `${section}.${key}`;
      if (SCHEMA[nested] !== undefined) {
        if (!isTable(value)) throw new ConfigError(`must be a table`, { file, key: nested, line });
        walk(nested, value);
        continue;
      }
      if (spec[key] === undefined) {
        const candidates = Object.keys(spec).concat(Object.keys(SCHEMA).filter((s) => s.startsWith(`${section}.`)).map((s) => s.slice(section.length + 1)));
        const hint = suggest(key, candidates);
        throw new ConfigError(`unknown key${hint ? ` (did you mean \`${hint}\`?)` : ""}`, { file, key: nested, line });
      }
      out.set(nested, { value, source: "file", name: nested, line, base });
    }
  };
  for (const [section, value] of Object.entries(doc)) {
    if (SCHEMA[section] === undefined || section.includes(".")) {
      const hint = suggest(section, Object.keys(SCHEMA).filter((s) => !s.includes(".")));
      throw new ConfigError(`unknown section${hint ? ` (did you mean [${hint}]?)` : ""}`, { file, key: section, line: locate(source, section) });
    }
    if (!isTable(value)) throw new ConfigError(`must be a table`, { file, key: section, line: locate(source, "", section) });
    walk(section, value);
  }
  return out;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function splitKey(path: string): [string, string] {
  const i = path.lastIndexOf(".");
  return i < 0 ? [path, ""] : [path.slice(0, i), path.slice(i + 1)];
}

function allKeys(): string[] {
  return Object.entries(SCHEMA).flatMap(([s, keys]) => Object.keys(keys).map((k) => `${s}.${k}`));
}

function convertDefault(spec: KeySpec): unknown {
  if (spec.default === undefined) return undefined;
  if (spec.type === "size") return parseSize(spec.default, memoryLimit());
  if (Array.isArray(spec.default)) return [...(spec.default as unknown[])];
  if (isTable(spec.default)) return structuredClone(spec.default);
  return spec.default;
}

function convert(spec: KeySpec, raw: Raw, path: string, file: string | undefined): unknown {
  const fromText = raw.source === "env" || (raw.source === "flag" && typeof raw.value === "string");
  try {
    return convertValue(spec.type, raw.value, fromText, raw.base);
  } catch (e) {
    const where = raw.source === "file" ? { file, key: path, line: raw.line } : { key: raw.name };
    throw new ConfigError((e as Error).message, where);
  }
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (isTable(v)) return "a table";
  return `${typeof v === "string" ? "a string" : typeof v} (${JSON.stringify(v)})`;
}

function list(v: unknown, fromText: boolean): string[] {
  if (fromText && typeof v === "string") return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw new Error(`expected a list of strings, got ${typeName(v)}`);
}

function convertValue(type: KeyType, v: unknown, fromText: boolean, base: string): unknown {
  if (typeof type === "object") {
    if (typeof v !== "string" || !type.enum.includes(v)) {
      const hint = typeof v === "string" ? suggest(v, type.enum) : undefined;
      throw new Error(`${JSON.stringify(v)} is not one of ${type.enum.join(", ")}${hint ? ` (did you mean "${hint}"?)` : ""}`);
    }
    return v;
  }
  switch (type) {
    case "string":
      if (typeof v !== "string") throw new Error(`expected a string, got ${typeName(v)}`);
      return v;
    case "bool":
      if (typeof v === "boolean") return v;
      if (fromText && typeof v === "string" && /^(true|false|1|0|yes|no|on|off)$/i.test(v)) return /^(true|1|yes|on)$/i.test(v);
      throw new Error(`expected true or false, got ${typeName(v)}`);
    case "int": {
      const n = fromText && typeof v === "string" && /^\d+$/.test(v) ? Number(v) : typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got ${typeName(v)}`);
      return n;
    }
    case "size":
      return parseSize(fromText && typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v, memoryLimit());
    case "duration":
      return parseDuration(fromText && typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v);
    case "strings":
      return list(v, fromText);
    case "bind":
      if (typeof v !== "string") throw new Error(`expected "host:port", got ${typeName(v)}`);
      parseBind(v);
      return v;
    case "path":
      if (typeof v !== "string" || v === "") throw new Error(`expected a file path, got ${typeName(v)}`);
      return resolve(base, v);
    case "paths":
      return list(v, fromText).map((p) => resolve(base, p));
    case "path-or-url":
      if (typeof v !== "string" || v === "") throw new Error(`expected a file path or URL, got ${typeName(v)}`);
      return /^https?:\/\//.test(v) ? v : resolve(base, v);
    case "public": {
      if (isTable(v)) {
        for (const k of Object.keys(v)) {
          if (k !== "publish" && k !== "subscribe") throw new Error(`unknown key "${k}" (expected publish or subscribe)`);
        }
        return {
          publish: v.publish === undefined ? [] : list(v.publish, false).map(normalize),
          subscribe: v.subscribe === undefined ? [] : list(v.subscribe, false).map(normalize),
        };
      }
      const prefixes = list(v, fromText).map(normalize);
      return { publish: prefixes, subscribe: [...prefixes] };
    }
  }
}

function assemble(s: Record<string, Record<string, unknown>>, file: string | undefined): Config {
  const { host, port } = parseBind(s.server.bind as string);
  const server = { ...s.server, host, port, quic: s["server.quic"] } as unknown as Config["server"];
  return {
    file,
    server,
    tls: s.tls as unknown as Config["tls"],
    auth: s.auth as unknown as Config["auth"],
    cluster: s.cluster as unknown as Config["cluster"],
    log: s.log as unknown as Config["log"],
    cache: s.cache as unknown as Config["cache"],
    limits: s.limits as unknown as Config["limits"],
    http: s.http as unknown as Config["http"],
  };
}

/** Checks that span keys or touch the file system. */
function check(c: Config, layers: Map<string, Raw>, file: string | undefined): void {
  const where = (path: string): { file?: string; key: string; line?: number } => {
    const raw = layers.get(path);
    if (raw === undefined || raw.source !== "file") return { key: raw?.name ?? path };
    return { file, key: path, line: raw.line };
  };
  const mustExist = (path: string, p: string | undefined): void => {
    if (p === undefined || /^https?:\/\//.test(p)) return;
    if (!existsSync(p)) throw new ConfigError(`file not found: ${p}`, where(path));
    if (!statSync(p).isFile()) throw new ConfigError(`not a file: ${p}`, where(path));
  };
  mustExist("tls.cert", c.tls.cert);
  mustExist("tls.key", c.tls.key);
  mustExist("tls.root", c.tls.root);
  mustExist("auth.key", c.auth.key);
  c.auth.keys.forEach((k) => mustExist("auth.keys", k));
  mustExist("auth.jwks", c.auth.jwks);
  mustExist("cluster.token", c.cluster.token);

  if ((c.tls.cert === undefined) !== (c.tls.key === undefined)) {
    throw new ConfigError("cert and key must be given together", where(c.tls.cert === undefined ? "tls.key" : "tls.cert"));
  }
  if (c.tls.cert !== undefined && c.tls.generate !== undefined) {
    throw new ConfigError("use either cert/key or generate, not both", where("tls.generate"));
  }
  if (c.tls.cert === undefined && c.tls.generate === undefined) {
    throw new ConfigError('a certificate is required: set cert and key, or generate = ["your.host"] for development', { file, key: "tls" });
  }
  const unknown = c.server.versions.filter((v) => !["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"].includes(v));
  if (unknown.length > 0) throw new ConfigError(`unsupported version ${unknown.join(", ")}`, where("server.versions"));
  const pub = c.auth.public;
  if (c.auth.key === undefined && c.auth.keys.length === 0 && c.auth.jwks === undefined && pub.publish.length === 0 && pub.subscribe.length === 0) {
    throw new ConfigError("nobody could connect: set key, keys or jwks to accept tokens, or public for anonymous access", { file, key: "auth" });
  }
  if (c.cluster.node !== undefined) {
    try {
      new URL(c.cluster.node);
    } catch {
      throw new ConfigError(`"${c.cluster.node}" is not a URL`, where("cluster.node"));
    }
  }
  for (const n of c.cluster.nodes) {
    try {
      new URL(n);
    } catch {
      throw new ConfigError(`"${n}" is not a URL`, where("cluster.nodes"));
    }
  }
  if (c.http.ops_bind !== undefined) parseBind(c.http.ops_bind);
}
