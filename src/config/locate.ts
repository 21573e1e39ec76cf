// smol-toml reports positions only for syntax errors, so error messages find their line here: a
// small scanner that maps every table header and key (as a dotted path) to its 1-based line. It
// understands what hand-written configs contain — comments, quoted keys, dotted keys, multi-line
// strings and arrays — and is only run on documents that already parsed.

/** Dotted key path → line of its first appearance ("server" → the [server] header line). */
export type LineIndex = Map<string, number>;

const BARE_OR_QUOTED = /\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*/y;

/** Split `a."b.c".d` into segments; returns the segments and where the key ended. */
function readKey(text: string, from: number): { parts: string[]; end: number } | undefined {
  const parts: string[] = [];
  let i = from;
  for (;;) {
    BARE_OR_QUOTED.lastIndex = i;
    const m = BARE_OR_QUOTED.exec(text);
    if (!m) return undefined;
    const raw = m[1];
    parts.push(raw.startsWith('"') || raw.startsWith("'") ? raw.slice(1, -1) : raw);
    i = BARE_OR_QUOTED.lastIndex;
    if (text[i] !== ".") return { parts, end: i };
    i++;
  }
}

/** Scanner state carried across lines: open brackets and an unterminated multi-line string. */
interface ValueState {
  depth: number;
  string: '"""' | "'''" | undefined;
}

/** Advance `st` over `text` (a value or its continuation line). */
function scanValue(text: string, st: ValueState): void {
  let i = 0;
  while (i < text.length) {
    if (st.string !== undefined) {
      const close = text.indexOf(st.string, i);
      if (close < 0) return;
      i = close + 3;
      st.string = undefined;
      continue;
    }
    const c = text[i];
    if (c === "#") return;
    if (text.startsWith('"""', i) || text.startsWith("'''", i)) {
      st.string = text.slice(i, i + 3) as '"""' | "'''";
      i += 3;
    } else if (c === '"' || c === "'") {
      // Single-line string: skip to its closing quote (basic strings honour backslash escapes).
      i++;
      while (i < text.length && text[i] !== c) i += c === '"' && text[i] === "\\" ? 2 : 1;
      i++;
    } else {
      if (c === "[" || c === "{") st.depth++;
      else if (c === "]" || c === "}") st.depth--;
      i++;
    }
  }
}

export function indexLines(source: string): LineIndex {
  const index: LineIndex = new Map();
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  const st: ValueState = { depth: 0, string: undefined };
  const record = (parts: string[], line: number): void => {
    // Every prefix too, so `quic.idle_timeout = …` under [server] also places "server.quic".
    for (let n = 1; n <= parts.length; n++) {
      const key = parts.slice(0, n).join(".");
      if (!index.has(key)) index.set(key, line);
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (st.depth > 0 || st.string !== undefined) {
      scanValue(text, st);
      continue;
    }
    const trimmed = text.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    if (trimmed.startsWith("[")) {
      const open = trimmed.startsWith("[[") ? 2 : 1;
      const key = readKey(trimmed, open);
      if (key) {
        table = key.parts;
        record(table, i + 1);
      }
      continue;
    }
    const key = readKey(text, 0);
    if (!key || text[key.end] !== "=") continue;
    record([...table, ...key.parts], i + 1);
    scanValue(text.slice(key.end + 1), st);
  }
  return index;
}

/** Line of `path`, or of its nearest ancestor that appears (an inline table, a section header). */
export function lineOf(index: LineIndex, path: string): number | undefined {
  const parts = path.split(".");
  for (let n = parts.length; n > 0; n--) {
    const line = index.get(parts.slice(0, n).join("."));
    if (line !== undefined) return line;
  }
  return undefined;
}
