// A key's optional scope: a ceiling on the tokens it may sign or verify. A delegated key (say, one
// handed to a tenant) carries `scope: { root: "tenant-a", put: [""], get: [""] }` and can then never
// mint or validate a token reaching outside tenant-a, whatever the token's own claims say.
import { hasPrefix, join, normalize } from "../util/path.js";

export interface KeyScope {
  root: string;
  put: string[];
  get: string[];
}

export class ScopeError extends Error {}

function list(v: unknown, name: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  throw new ScopeError(`scope "${name}" must be a string or a list of strings`);
}

/** Validate a JWK's `scope` member. */
export function parseScope(raw: unknown): KeyScope {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ScopeError(`"scope" must be an object { root, put, get }`);
  const o = raw as Record<string, unknown>;
  const root = o.root ?? "";
  if (typeof root !== "string") throw new ScopeError(`scope "root" must be a string`);
  return { root, put: list(o.put, "put"), get: list(o.get, "get") };
}

/** True when every granted path (resolved against `root`) lies under a scope prefix of the same role. */
export function withinScope(scope: KeyScope, root: string, put: readonly string[], get: readonly string[]): boolean {
  const base = normalize(root);
  const sroot = normalize(scope.root);
  const covered = (paths: readonly string[], allowed: readonly string[]): boolean =>
    paths.every((p) => {
      const abs = join(base, normalize(p));
      return allowed.some((a) => hasPrefix(abs, join(sroot, normalize(a))));
    });
  return covered(put, scope.put) && covered(get, scope.get);
}
