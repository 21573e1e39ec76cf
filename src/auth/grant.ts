// What a session may do. The connection's URL path is the session root; every path the session
// names (announce, subscribe) is relative to it. Grants are prefixes relative to that root, with ""
// meaning everything under it. All comparisons are whole-segment (src/util/path.ts).
import { coveredBy, hasPrefix, join, normalize, stripPrefix } from "../util/path.js";

export interface Grant {
  /** Normalised connection path; every path on the session is relative to it. */
  root: string;
  /** Prefixes (relative to root) the session may publish. */
  publish: string[];
  /** Prefixes (relative to root) the session may subscribe to and see announced. */
  subscribe: string[];
  /** Token expiry (ms since epoch): the session must be closed then. */
  expiresAt?: number;
  /** A peer relay: may publish reserved namespaces. */
  cluster: boolean;
  /** The kid of the key that verified the token, if it had one. */
  kid?: string;
  /** No token: the grant comes from the public prefixes. */
  anonymous: boolean;
}

/**
 * Reserved namespaces: an absolute path whose first segment starts with "." (".internal/…" for
 * cluster gossip, ".stats/…"). Only cluster-authorised sessions may publish there, so no user with
 * publish rights at the root can forge relay-internal broadcasts.
 */
export function isReserved(absolutePath: string): boolean {
  return normalize(absolutePath).startsWith(".");
}

/** May the session publish `path` (relative to its root)? */
export function canPublish(grant: Grant, path: string): boolean {
  const rel = normalize(path);
  if (!coveredBy(rel, grant.publish)) return false;
  return grant.cluster || !isReserved(join(grant.root, rel));
}

/** May the session subscribe to `path` (relative to its root)? */
export function canSubscribe(grant: Grant, path: string): boolean {
  return coveredBy(normalize(path), grant.subscribe);
}

/**
 * The parts of an announce watch on `prefix` (relative to the root) the session may see, as
 * prefixes relative to the root: `[prefix]` when a grant covers all of it, the narrower grants
 * under it otherwise, `[]` when nothing there is visible. Watch these instead of `prefix`.
 */
export function visiblePrefixes(grant: Grant, prefix: string): string[] {
  const want = normalize(prefix);
  const out: string[] = [];
  for (const s of grant.subscribe) {
    if (hasPrefix(want, s)) return [want];
    if (hasPrefix(s, want) && !out.includes(s)) out.push(s);
  }
  // Drop grants already covered by a shorter one, so each broadcast is watched once.
  return out.filter((p) => !out.some((q) => q !== p && hasPrefix(p, q)));
}

/**
 * Re-base prefixes granted relative to `claimRoot` onto the connection path (the Rust relay's
 * rule). A path below the root narrows each grant: grants covering the path become "", grants under
 * it keep their remainder, the rest are dropped. A path above the root prepends the rest of the
 * root. An unrelated path gives undefined.
 */
export function rebase(claimRoot: string, put: readonly string[], get: readonly string[], path: string): { publish: string[]; subscribe: string[] } | undefined {
  const root = normalize(claimRoot);
  const below = stripPrefix(path, root);
  if (below !== undefined) {
    const narrow = (list: readonly string[]): string[] => {
      const out = new Set<string>();
      for (const raw of list) {
        const p = normalize(raw);
        if (hasPrefix(below, p)) out.add("");
        else {
          const rest = stripPrefix(p, below);
          if (rest !== undefined) out.add(rest);
        }
      }
      return [...out];
    };
    return { publish: narrow(put), subscribe: narrow(get) };
  }
  const above = stripPrefix(root, path);
  if (above !== undefined) {
    const widen = (list: readonly string[]): string[] => [...new Set(list.map((p) => join(above, normalize(p))))];
    return { publish: widen(put), subscribe: widen(get) };
  }
  return undefined;
}
