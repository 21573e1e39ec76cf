// One raw value (from TOML, an environment variable or a flag) → its typed form, per key type.
// Throws a plain Error whose message the loader wraps with file, line, key or variable name.
import { resolve } from "node:path";
import { parse } from "smol-toml";
import { suggest } from "./errors.js";
import { memoryLimit, type KeySpec } from "./schema.js";
import { parseBind, parseDuration, parseSize } from "./units.js";
import { normalize } from "../util/path.js";

export function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function isUrl(v: string): boolean {
  return /^https?:\/\//i.test(v);
}

export function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  if (isTable(v)) return "a table";
  if (typeof v === "string") return `a string (${JSON.stringify(v)})`;
  return `${typeof v === "bigint" ? "number" : typeof v} (${String(v)})`;
}

/**
 * Text from an environment variable or flag. `[...]` and `{...}` are read as TOML inline values,
 * so a table such as auth.public can be given as `{ publish = ["anon"] }`; anything else stays text
 * and list keys split it on commas.
 */
function fromText(text: string): unknown {
  const t = text.trim();
  if (!t.startsWith("[") && !t.startsWith("{")) return text;
  try {
    return parse(`v = ${t}`).v;
  } catch (e) {
    throw new Error(`${JSON.stringify(text)} is not a valid TOML ${t.startsWith("[") ? "array" : "inline table"}: ${(e as Error).message.split("\n")[0]}`);
  }
}

function list(v: unknown, text: boolean): string[] {
  if (text && typeof v === "string") return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw new Error(`expected a list of strings, got ${describe(v)}`);
}

/** Text holding only digits counts as a number for int/size/duration keys. */
function numeric(v: unknown, text: boolean): unknown {
  return text && typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
}

function atLeast(n: number, spec: KeySpec, shown: unknown): number {
  if (spec.min !== undefined && n < spec.min) throw new Error(`${JSON.stringify(shown)} is below the minimum of ${spec.min}${spec.type === "duration" ? " ms" : spec.type === "size" ? " bytes" : ""}`);
  return n;
}

/**
 * Convert `raw` for `spec`. `text` marks values that arrived as strings from the environment or the
 * command line; `base` is the directory relative paths resolve against.
 */
export function convertValue(spec: KeySpec, raw: unknown, text: boolean, base: string): unknown {
  let v = raw;
  if (text && typeof raw === "string") {
    v = fromText(raw);
    if (v !== raw) text = false;
  }
  const type = spec.type;
  if (typeof type === "object") {
    if (typeof v !== "string" || !type.enum.includes(v)) {
      const hint = typeof v === "string" ? suggest(v, type.enum) : undefined;
      throw new Error(`${typeof v === "string" ? JSON.stringify(v) : describe(v)} is not one of ${type.enum.join(", ")}${hint ? ` (did you mean "${hint}"?)` : ""}`);
    }
    return v;
  }
  switch (type) {
    case "string":
      if (typeof v !== "string") throw new Error(`expected a string, got ${describe(v)}`);
      return v;
    case "bool":
      if (typeof v === "boolean") return v;
      if (text && typeof v === "string" && /^\s*(true|false|1|0|yes|no|on|off)\s*$/i.test(v)) return /^\s*(true|1|yes|on)\s*$/i.test(v);
      throw new Error(`expected true or false, got ${describe(v)}`);
    case "int": {
      const n = numeric(v, text);
      const num = typeof n === "bigint" ? Number(n) : n;
      if (typeof num !== "number" || !Number.isSafeInteger(num) || num < 0) throw new Error(`expected a non-negative integer, got ${describe(v)}`);
      return atLeast(num, spec, v);
    }
    case "size":
      return atLeast(parseSize(numeric(v, text), memoryLimit()), spec, v);
    case "duration":
      return atLeast(parseDuration(numeric(v, text)), spec, v);
    case "strings":
      return list(v, text);
    case "bind":
      if (typeof v !== "string") throw new Error(`expected "host:port", got ${describe(v)}`);
      parseBind(v.trim());
      return v.trim();
    case "path":
      if (typeof v !== "string" || v.trim() === "") throw new Error(`expected a file path, got ${describe(v)}`);
      return resolve(base, v.trim());
    case "paths":
      return list(v, text).map((p) => resolve(base, p));
    case "path-or-url":
      if (typeof v !== "string" || v.trim() === "") throw new Error(`expected a file path or https URL, got ${describe(v)}`);
      return isUrl(v.trim()) ? v.trim() : resolve(base, v.trim());
    case "public":
      return convertPublic(v, text);
  }
}

/** `public` is a prefix, a list of prefixes (both directions), or { publish, subscribe }. */
function convertPublic(v: unknown, text: boolean): { publish: string[]; subscribe: string[] } {
  if (isTable(v)) {
    for (const k of Object.keys(v)) {
      if (k !== "publish" && k !== "subscribe") {
        const hint = suggest(k, ["publish", "subscribe"]);
        throw new Error(`unknown key \`${k}\` in the table (expected publish and/or subscribe${hint ? `; did you mean \`${hint}\`?` : ""})`);
      }
    }
    const side = (x: unknown, name: string): string[] => {
      if (x === undefined) return [];
      try {
        return list(x, false).map(normalize);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    };
    return { publish: side(v.publish, "publish"), subscribe: side(v.subscribe, "subscribe") };
  }
  if (!(typeof v === "string" || Array.isArray(v))) throw new Error(`expected a prefix, a list of prefixes or { publish = [...], subscribe = [...] }, got ${describe(v)}`);
  // A lone "" in TOML means the root (everything); empty text never gets here (it reads as unset).
  const prefixes = list(v, text).map(normalize);
  return { publish: prefixes, subscribe: [...prefixes] };
}
