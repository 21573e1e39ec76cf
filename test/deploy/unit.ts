// Reading systemd unit files and the syscall groups systemd knows, for the deployment tests.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface UnitEntry {
  section: string;
  key: string;
  value: string;
  line: number;
}

/** Parse a unit file into its entries (comments and blank lines dropped, continuations joined). */
export function parseUnit(text: string): UnitEntry[] {
  const entries: UnitEntry[] = [];
  let section = "";
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    const start = i + 1;
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`line ${start}: not a key=value line: ${line}`);
    entries.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: start });
  }
  return entries;
}

/** Every value of `Section.Key`, in order. */
export function values(entries: UnitEntry[], section: string, key: string): string[] {
  return entries.filter((e) => e.section === section && e.key === key).map((e) => e.value);
}

/** The one value of `Section.Key`; throws if it is missing or repeated. */
export function value(entries: UnitEntry[], section: string, key: string): string {
  const v = values(entries, section, key);
  if (v.length !== 1) throw new Error(`expected one ${section}.${key}, found ${v.length}`);
  return v[0]!;
}

/** "45s", "1min 30s", "2m", "500ms", or bare seconds, as systemd reads a time span; in ms. */
export function timeSpanMs(span: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000 };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const m = /^(\d+(?:\.\d+)?)([a-z]*)$/.exec(part);
    const unit = m?.[2] === "" ? "s" : m?.[2];
    if (!m || unit === undefined || units[unit] === undefined) throw new Error(`not a time span: ${span}`);
    total += Number(m[1]) * units[unit];
  }
  return total;
}

/** The `Section.Key` names systemd 252 accepts, from the committed dump (see the fixture's header). */
export function knownKeys(fixture: string): Set<string> {
  return new Set(
    readFileSync(fixture, "utf8")
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#")),
  );
}

const groups = new Map<string, Set<string>>();

/** The system calls in a systemd syscall group (nested groups expanded), from systemd-analyze. */
export function syscallGroup(name: string): Set<string> {
  const known = groups.get(name);
  if (known) return known;
  const out = execFileSync("systemd-analyze", ["syscall-filter", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const calls = new Set<string>();
  for (const raw of out.split("\n").slice(1)) {
    const t = raw.trim();
    if (t === "" || t.startsWith("#")) continue;
    for (const c of t.startsWith("@") ? syscallGroup(t) : [t]) calls.add(c);
  }
  if (calls.size === 0) throw new Error(`systemd-analyze knows no syscall group ${name}`);
  groups.set(name, calls);
  return calls;
}

/**
 * Whether `call` passes a list of SystemCallFilter= values: the first list that does not start
 * with ~ is an allow list, later ~lists remove calls from it (systemd.exec(5)).
 */
export function filterAllows(filters: string[], call: string): boolean {
  let allowed: Set<string> | undefined;
  const denied = new Set<string>();
  for (const f of filters) {
    const deny = f.startsWith("~");
    for (const item of (deny ? f.slice(1) : f).split(/\s+/).filter((s) => s !== "")) {
      const calls = item.startsWith("@") ? syscallGroup(item) : new Set([item]);
      for (const c of calls) {
        if (deny) denied.add(c);
        else (allowed ??= new Set()).add(c);
      }
    }
  }
  return (allowed === undefined || allowed.has(call)) && !denied.has(call);
}
