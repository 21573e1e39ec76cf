// Who may do what on a session. The URL path is the session root; `?jwt=` carries the token.
// A grant lists publish and subscribe prefixes relative to that root ("" = everything under it).
import type { AuthConfig } from "../config/types.js";
import { peekHeader, TokenError, verifyToken, type Claims } from "../token/claims.js";
import { coveredBy, hasPrefix, join, normalize, stripPrefix } from "../util/path.js";
import type { Logger } from "../util/log.js";
import { KeyStore } from "./keys.js";

export interface Grant {
  /** Normalised connection path; every path on the session is relative to it. */
  root: string;
  publish: string[];
  subscribe: string[];
  /** Token expiry (ms since epoch): the session is closed then. */
  expiresAt?: number;
  /** A peer relay: may publish reserved namespaces. */
  cluster: boolean;
  anonymous: boolean;
  kid?: string;
}

export type AuthReason = "expected-token" | "unexpected-token" | "incorrect-root" | "unknown-kid" | TokenError["reason"];

/** moq-lite's Unauthorized close code. */
export const UNAUTHORIZED = 6;

export class AuthError extends Error {
  readonly code = UNAUTHORIZED;
  constructor(
    readonly status: 401 | 403 | 502,
    readonly reason: AuthReason,
    message: string,
  ) {
    super(message);
  }
}

/** Reserved namespaces (first segment starting with "."): only cluster sessions may publish there. */
export function isReserved(absolutePath: string): boolean {
  return absolutePath.startsWith(".");
}

/** May the session publish `path` (relative to its root)? */
export function canPublish(grant: Grant, path: string): boolean {
  if (!coveredBy(path, grant.publish)) return false;
  return grant.cluster || !isReserved(join(grant.root, path));
}

/** May the session subscribe to `path` (relative to its root)? */
export function canSubscribe(grant: Grant, path: string): boolean {
  return coveredBy(path, grant.subscribe);
}

/**
 * Re-base a claim set (prefixes relative to `claimRoot`) onto the connection path. A connection
 * below the root narrows each grant; a connection above it prepends the rest of the root.
 */
export function rebase(claimRoot: string, put: string[], get: string[], path: string): { publish: string[]; subscribe: string[] } | undefined {
  const root = normalize(claimRoot);
  const below = stripPrefix(path, root);
  if (below !== undefined) {
    const narrow = (list: string[]): string[] => {
      const out: string[] = [];
      for (const raw of list) {
        const p = normalize(raw);
        if (hasPrefix(below, p)) out.push("");
        else {
          const rest = stripPrefix(p, below);
          if (rest !== undefined) out.push(rest);
        }
      }
      return [...new Set(out)];
    };
    return { publish: narrow(put), subscribe: narrow(get) };
  }
  const above = stripPrefix(root, path);
  if (above !== undefined) {
    const widen = (list: string[]): string[] => list.map((p) => join(above, normalize(p)));
    return { publish: widen(put), subscribe: widen(get) };
  }
  return undefined;
}

export class Authenticator {
  readonly keys: KeyStore;

  constructor(
    private readonly cfg: AuthConfig,
    private readonly log: Logger,
  ) {
    this.keys = new KeyStore(cfg, log);
  }

  start(): Promise<void> {
    return this.keys.start();
  }

  close(): void {
    this.keys.close();
  }

  /** Decide a grant for a connection URL. Throws AuthError; never includes the token in messages. */
  async authorize(url: URL, now = Date.now()): Promise<Grant> {
    const path = normalize(decodeURIComponent(url.pathname));
    const jwts = url.searchParams.getAll("jwt").filter((t) => t !== "");
    const token = jwts.at(-1);
    if (token === undefined) return this.anonymous(path);
    if (!this.keys.configured) throw new AuthError(401, "unexpected-token", "a token was given but this relay has no keys to verify it");

    let kid: string | undefined;
    let claims: Claims;
    try {
      kid = peekHeader(token).kid;
      const key = this.keys.find(kid);
      if (key === undefined) throw new AuthError(401, "unknown-kid", kid === undefined ? "token has no kid and several keys are configured" : `no key with kid ${kid}`);
      claims = await verifyToken(key, token, now);
    } catch (e) {
      if (e instanceof TokenError) throw new AuthError(401, e.reason, e.message);
      throw e;
    }
    const scoped = rebase(claims.root, claims.put, claims.get, path);
    if (scoped === undefined) throw new AuthError(401, "incorrect-root", `path "/${path}" is outside the token root "/${normalize(claims.root)}"`);
    if (scoped.publish.length === 0 && scoped.subscribe.length === 0) throw new AuthError(401, "incorrect-root", `the token grants nothing under "/${path}"`);
    const grant: Grant = { root: path, ...scoped, cluster: claims.cluster === true, anonymous: false, kid };
    if (claims.exp !== undefined) grant.expiresAt = claims.exp * 1000;
    return grant;
  }

  private anonymous(path: string): Grant {
    const pub = this.cfg.public;
    const scoped = rebase("", pub.publish, pub.subscribe, path);
    if (scoped === undefined || (scoped.publish.length === 0 && scoped.subscribe.length === 0)) {
      throw new AuthError(401, "expected-token", `anonymous access is not allowed at "/${path}"; pass ?jwt=`);
    }
    return { root: path, ...scoped, cluster: false, anonymous: true };
  }
}
