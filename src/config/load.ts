// TOML → one validated Config. Precedence per key: command-line flag > MOQ_* environment variable >
// file > default. Each layer contributes only the keys it actually sets, so a default can never
// overwrite a value from the file (the Rust relay's CLI defaults silently do).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import type { Config, SectionConfig } from "./types.js";
import { ConfigError, suggest, type Where } from "./errors.js";
import { convertValue, isTable } from "./convert.js";
import { readEnv, readFlags, type Entry, type FlagValue } from "./env.js";
import { indexLines, lineOf } from "./locate.js";
import { SCHEMA, sectionOf, type SectionName } from "./schema.js";
import { validate } from "./validate.js";
import { parseBind } from "./units.js";

export { envName, NAMED_FLAGS, type FlagValue } from "./env.js";

export interface LoadOptions {
  /** Config file path as the user gave it; undefined = the embedded development default. */
  file?: string;
  /** The file's text when the caller already has it (the fuzz target runs in memory): not read again. */
  source?: string;
  /** Parsed command-line flags: named flags ("bind"), `set` ("k=v" list) or key paths ("server.bind"). */
  flags?: Record<string, FlagValue>;
  env?: Record<string, string | undefined>;
  /** Directory that relative paths (the file itself, paths from flags and env) resolve against. */
  cwd?: string;
}

export interface LoadResult {
  config: Config;
  /** True when no file was given and at least one development default applied. */
  dev: boolean;
  /** The development defaults that applied (key paths), for the start-up warning. */
  devKeys: string[];
  /** Things worth telling the operator that are not errors (unknown MOQ_* variables, ...). */
  warnings: string[];
}

/**
 * The development default, used only without a config file: loopback, a self-signed certificate,
 * anonymous access under anon/. Each applies only if env/flags did not configure that concern, so
 * `MOQ_AUTH_KEY=root.jwk moq-relay` never silently keeps anonymous access.
 */
export const DEV_DEFAULTS: { key: string; value: unknown; unless: string[] }[] = [
  { key: "server.bind", value: "127.0.0.1:4443", unless: ["server.bind"] },
  { key: "tls.generate", value: ["localhost", "127.0.0.1"], unless: ["tls.cert", "tls.key", "tls.generate"] },
  { key: "auth.public", value: "anon", unless: ["auth.public", "auth.key", "auth.keys", "auth.jwks"] },
];

/** A value for one key, with what an error about it should point at. */
export interface Raw {
  value: unknown;
  /** Layer precedence: 1 file, 2 environment, 3 flag (dev defaults count as 0). */
  rank: number;
  /** Arrived as text (env/flag): lists split on commas. */
  text: boolean;
  /** Directory relative paths resolve against. */
  base: string;
  where: Where;
}

export function loadConfig(opts: LoadOptions): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const layers = new Map<string, Raw>();
  const file = opts.file === undefined ? undefined : resolve(cwd, opts.file);
  if (opts.file !== undefined && file !== undefined) {
    for (const [key, raw] of readFile(file, opts.file, opts.source)) layers.set(key, raw);
  }

  const { entries: envEntries, warnings } = readEnv(opts.env ?? {});
  const flagEntries = readFlags(opts.flags ?? {});
  const put = (rank: number) => (e: Entry): void => {
    layers.set(e.path, { value: e.value, rank, text: e.text, base: cwd, where: { key: e.name } });
  };
  envEntries.forEach(put(2));
  flagEntries.forEach(put(3));
  overrideChoice(layers, ["tls.cert", "tls.key"], ["tls.generate"]);

  const devKeys: string[] = [];
  if (file === undefined) {
    for (const d of DEV_DEFAULTS) {
      if (d.unless.some((k) => layers.has(k))) continue;
      layers.set(d.key, { value: d.value, rank: 0, text: false, base: cwd, where: { key: d.key } });
      devKeys.push(d.key);
    }
    // The browser page is on for the development relay (a new user gets something to open) but is
    // not a warning-worthy default, so it stays out of devKeys.
    if (!layers.has("http.page")) layers.set("http.page", { value: true, rank: 0, text: false, base: cwd, where: { key: "http.page" } });
  }

  const sections: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(SCHEMA)) {
    const target: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(keys)) {
      const path = `${section}.${key}`;
      const raw = layers.get(path);
      if (raw === undefined) {
        target[key] = spec.default === undefined ? undefined : convertValue(spec, structuredClone(spec.default), false, cwd);
        continue;
      }
      try {
        target[key] = convertValue(spec, raw.value, raw.text, raw.base);
      } catch (e) {
        throw new ConfigError((e as Error).message, raw.where);
      }
    }
    sections[section] = target;
  }

  const config = assemble(sections, file);
  const where = (...paths: string[]): Where => {
    for (const p of paths) {
      const raw = layers.get(p);
      if (raw !== undefined) return raw.where;
    }
    return { file: opts.file, key: paths[0] };
  };
  warnings.push(...validate(config, where, opts.file));
  return { config, dev: devKeys.length > 0, devKeys, warnings };
}

/**
 * Two mutually exclusive ways to configure one thing (a certificate pair or a generated one): a
 * higher layer choosing one side replaces the other side from a lower layer, so
 * `moq-relay relay.toml --tls-cert … --tls-key …` works on a file that says `generate`.
 * Both sides in the same layer stay, and validation reports the conflict.
 */
function overrideChoice(layers: Map<string, Raw>, a: string[], b: string[]): void {
  const rank = (keys: string[]): number => Math.max(0, ...keys.map((k) => layers.get(k)?.rank ?? 0));
  const ra = rank(a);
  const rb = rank(b);
  if (ra === 0 || rb === 0 || ra === rb) return;
  for (const k of ra > rb ? b : a) layers.delete(k);
}

function readFile(file: string, shown: string, text?: string): Map<string, Raw> {
  let source: string;
  try {
    source = text ?? readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : String(e);
    throw new ConfigError(`cannot read config file: ${why}${code ? ` (${code})` : ""}`, { file: shown });
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(source);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
      throw new ConfigError(`TOML syntax error at column ${e.column}: ${first}`, { file: shown, line: e.line });
    }
    throw e;
  }
  const lines = indexLines(source);
  const at = (path: string): Where => ({ file: shown, key: path, line: lineOf(lines, path) });
  const base = dirname(file);
  const out = new Map<string, Raw>();

  const walk = (section: string, table: Record<string, unknown>): void => {
    const spec = sectionOf(section) ?? {};
    const subsections = Object.keys(SCHEMA).filter((s) => s.startsWith(`${section}.`)).map((s) => s.slice(section.length + 1));
    for (const [key, value] of Object.entries(table)) {
      const path = `${section}.${key}`;
      if (sectionOf(path) !== undefined) {
        if (!isTable(value)) throw new ConfigError("must be a table", { ...at(path), label: `[${path}]` });
        walk(path, value);
      } else if (Object.hasOwn(spec, key)) {
        out.set(path, { value, rank: 1, text: false, base, where: at(path) });
      } else if (isTable(value)) {
        const hint = suggest(key, subsections.length > 0 ? subsections : Object.keys(spec));
        const also = hint && subsections.includes(hint) ? `[${section}.${hint}]` : hint ? `\`${hint}\`` : undefined;
        throw new ConfigError(`unknown section${also ? ` (did you mean ${also}?)` : ""}`, { ...at(path), label: `[${path}]` });
      } else {
        const hint = suggest(key, Object.keys(spec).concat(subsections));
        throw new ConfigError(`unknown key${hint ? ` (did you mean \`${hint}\`?)` : ""}`, at(path));
      }
    }
  };
  for (const [section, value] of Object.entries(doc)) {
    if (sectionOf(section) === undefined) {
      const tops = Object.keys(SCHEMA).filter((s) => !s.includes("."));
      if (!isTable(value)) {
        const home = Object.keys(SCHEMA).find((s) => Object.hasOwn(sectionOf(s) ?? {}, section));
        throw new ConfigError(`keys belong in a section${home ? `: put it under [${home}]` : ""}`, { ...at(section), label: section });
      }
      const hint = suggest(section, tops);
      const help = hint ? ` (did you mean [${hint}]?)` : `; sections are ${tops.map((s) => `[${s}]`).join(", ")}`;
      throw new ConfigError(`unknown section${help}`, { ...at(section), label: `[${section}]` });
    }
    if (!isTable(value)) throw new ConfigError("must be a table", { ...at(section), label: `[${section}]` });
    walk(section, value);
  }
  return out;
}

/**
 * Sections → Config. Every section was filled key by key from the same schema the Config type
 * derives from (convertValue returns each key type's value type), so this is the one place the
 * untyped values meet their types.
 */
function assemble(s: Record<string, Record<string, unknown>>, file: string | undefined): Config {
  const section = <S extends SectionName>(name: S): SectionConfig<S> => s[name] as SectionConfig<S>;
  const server = section("server");
  const { host, port } = parseBind(server.bind);
  return {
    file,
    server: { ...server, host, port, quic: section("server.quic") },
    tls: section("tls"),
    auth: section("auth"),
    cluster: section("cluster"),
    log: section("log"),
    cache: section("cache"),
    limits: section("limits"),
    http: section("http"),
  };
}
