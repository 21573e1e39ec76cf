// Broadcast paths: "/"-separated segments, compared whole-segment ("foo" covers "foo/bar" but not
// "foobar"). Every path that enters the relay (URL, token claim, wire message) is normalised here.

export const MAX_SEGMENTS = 32;

/** Trim leading/trailing slashes and collapse repeats: "//a///b/" → "a/b". "" is the root. */
export function normalize(path: string): string {
  if (path === "") return "";
  return path.split("/").filter((s) => s.length > 0).join("/");
}

/** Number of segments; the root has none. */
export function depth(path: string): number {
  return path === "" ? 0 : path.split("/").length;
}

/**
 * True if `path` has a "." or ".." segment. Paths are matched by plain prefix, never resolved, so
 * "anon/../secret" would be a broadcast named with a ".." segment that a reader (or another relay,
 * or a log) may resolve to "secret": such paths are refused wherever one enters the relay.
 */
export function hasDotSegment(path: string): boolean {
  if (path.indexOf(".") < 0) return false;
  for (const s of path.split("/")) if (s === "." || s === "..") return true;
  return false;
}

/** Why `path` (any form) is not acceptable as a broadcast path or root, or undefined if it is. */
export function pathProblem(path: string): string | undefined {
  if (hasDotSegment(path)) return `path "${clip(path)}" has a "." or ".." segment`;
  if (depth(normalize(path)) > MAX_SEGMENTS) return `path has more than ${MAX_SEGMENTS} segments`;
  return undefined;
}

/** True if `path` is a valid normalised path within the segment limit and without dot segments. */
export function isValid(path: string): boolean {
  return normalize(path) === path && depth(path) <= MAX_SEGMENTS && !hasDotSegment(path);
}

/** A client-supplied string cut to a length fit for an error message or a log line. */
export function clip(s: string, max = 256): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`;
}

/** Segment join of normalised paths. */
export function join(prefix: string, suffix: string): string {
  if (prefix === "") return suffix;
  if (suffix === "") return prefix;
  return `${prefix}/${suffix}`;
}

/** Whole-segment prefix test on normalised paths; "" is a prefix of everything. */
export function hasPrefix(path: string, prefix: string): boolean {
  if (prefix === "") return true;
  if (path.length < prefix.length || !path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f;
}

/** The part of `path` below `prefix`, or undefined if `prefix` does not cover it. */
export function stripPrefix(path: string, prefix: string): string | undefined {
  if (!hasPrefix(path, prefix)) return undefined;
  if (prefix === "") return path;
  return path.length === prefix.length ? "" : path.slice(prefix.length + 1);
}

/** True if any of `prefixes` covers `path`. */
export function coveredBy(path: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (hasPrefix(path, p)) return true;
  return false;
}

/** True if a watch on `prefix` could see something `prefixes` allows (either one covers the other). */
export function overlaps(prefix: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (hasPrefix(prefix, p) || hasPrefix(p, prefix)) return true;
  return false;
}
