// Configuration errors name the file, the key path and the line, so an operator can fix the
// config without reading code.

export class ConfigError extends Error {
  readonly file: string | undefined;
  readonly key: string | undefined;
  readonly line: number | undefined;
  readonly detail: string;

  constructor(detail: string, where: { file?: string; key?: string; line?: number } = {}) {
    const loc = where.file ? `${where.file}${where.line ? `:${where.line}` : ""}: ` : "";
    const key = where.key ? `${keyLabel(where.key)}: ` : "";
    super(`${loc}${key}${detail}`);
    this.file = where.file;
    this.key = where.key;
    this.line = where.line;
    this.detail = detail;
  }
}

/** "server.quic.idle_timeout" → "[server.quic] idle_timeout"; environment names pass through. */
function keyLabel(key: string): string {
  if (/^[A-Z_]+$/.test(key) || key.startsWith("--")) return key;
  const i = key.lastIndexOf(".");
  return i < 0 ? `[${key}]` : `[${key.slice(0, i)}] ${key.slice(i + 1)}`;
}

/** The closest candidate within a small edit distance, for "did you mean" hints. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/**
 * Find the 1-based line of `key` inside `[section]` in TOML source. smol-toml reports no value
 * positions, so this scans table headers and `key =` lines; good enough for hand-written configs.
 */
export function locate(source: string, section: string, key?: string): number | undefined {
  const lines = source.split(/\r?\n/);
  let current = "";
  let sectionLine: number | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const header = /^\[\s*([^\]\s]+)\s*\]/.exec(line);
    if (header) {
      current = header[1];
      if (current === section && sectionLine === undefined) sectionLine = i + 1;
      continue;
    }
    if (key === undefined) continue;
    const kv = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(line);
    if (!kv) continue;
    // Dotted keys ("quic.idle_timeout = …" under [server]) count as deeper sections.
    const full = current === "" ? kv[2] : `${current}.${kv[2]}`;
    if (full === `${section}.${key}` || (section === "" && kv[2] === key)) return i + 1;
    // Inline tables: `public = { publish = [...] }` — the key path lands on this line.
    if (`${section}.${key}`.startsWith(`${full}.`)) return i + 1;
  }
  return sectionLine;
}
