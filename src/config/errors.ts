// Configuration errors name the file, the key path and the line, so an operator can fix the
// config without reading code: `relay.toml:7: [server] bind: "nope" is not host:port`.

export interface Where {
  file?: string;
  key?: string;
  line?: number;
}

export class ConfigError extends Error {
  /** The config file as the user named it (undefined when the error came from env or flags). */
  readonly file: string | undefined;
  /** Key path ("server.quic.idle_timeout"), or the environment variable / flag that was wrong. */
  readonly key: string | undefined;
  /** 1-based line in `file`. */
  readonly line: number | undefined;
  /** The message without its location prefix. */
  readonly detail: string;

  /** `label` overrides how the key is shown (e.g. "[server.quik]" for an unknown section). */
  constructor(detail: string, where: Where & { label?: string } = {}) {
    const loc = where.file ? `${where.file}${where.line ? `:${where.line}` : ""}: ` : "";
    const shown = where.label ?? (where.key ? keyLabel(where.key) : undefined);
    const key = shown ? `${shown}: ` : "";
    super(`${loc}${key}${detail}`);
    this.name = "ConfigError";
    this.file = where.file;
    this.key = where.key;
    this.line = where.line;
    this.detail = detail;
  }
}

/** "server.quic.idle_timeout" → "[server.quic] idle_timeout"; environment names and flags pass through. */
function keyLabel(key: string): string {
  if (/^[A-Z0-9_]+$/.test(key) || key.startsWith("-")) return key;
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
