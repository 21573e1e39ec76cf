// The relay's authorisation, transport-free: a connection URL in, a Grant (or an AuthError) out.
// The URL path is the session root; `?jwt=` carries the token. Without a token the public prefixes
// apply; a token that is present but invalid is refused, never downgraded to public access.
import type { AuthConfig } from "../config/types.js";
import { peekHeader, TokenError, verifyToken, type Claims } from "../token/claims.js";
import { KeyError } from "../token/key.js";
import type { Logger } from "../util/log.js";
import { depth, hasDotSegment, MAX_SEGMENTS, normalize } from "../util/path.js";
import { AuthError } from "./error.js";
import { rebase, type Grant } from "./grant.js";
import { KeyStore } from "./keys.js";
import { SourceUnavailable } from "./sources.js";

export { AuthError, UNAUTHORIZED, type AuthReason } from "./error.js";
export { canPublish, canSubscribe, isReserved, rebase, visiblePrefixes, type Grant } from "./grant.js";

export class Authenticator {
  readonly keys: KeyStore;

  constructor(
    private readonly cfg: AuthConfig,
    private readonly log: Logger,
  ) {
    this.keys = new KeyStore(cfg, log);
  }

  /** Load the keys (a bad or missing key source is an error) and start watching for rotation. */
  start(): Promise<void> {
    return this.keys.start();
  }

  /** Stop timers and watchers. */
  close(): void {
    this.keys.close();
  }

  /** Decide a grant for a connection URL at time `now` (ms). Never puts the token in an error. */
  async authorize(url: URL, now = Date.now()): Promise<Grant> {
    const path = connectionPath(url);
    // Empty means absent; of several, the last one given wins (as in the Rust relay).
    const token = url.searchParams
      .getAll("jwt")
      .filter((t) => t !== "")
      .at(-1);
    if (token === undefined) return this.anonymous(path);
    if (!this.keys.configured) throw new AuthError(401, "unexpected-token", "a token was given but this relay has no keys to verify tokens");

    const { claims, kid } = await this.verify(token, now);
    const scoped = rebase(claims.root, claims.put, claims.get, path);
    if (scoped === undefined) throw new AuthError(401, "incorrect-root", `path "/${path}" is outside the token root "/${normalize(claims.root)}"`);
    if (scoped.publish.length === 0 && scoped.subscribe.length === 0) throw new AuthError(401, "incorrect-root", `the token grants nothing under "/${path}"`);
    const grant: Grant = { root: path, publish: scoped.publish, subscribe: scoped.subscribe, cluster: claims.cluster === true, anonymous: false };
    if (kid !== undefined) grant.kid = kid;
    if (claims.exp !== undefined) grant.expiresAt = claims.exp * 1000;
    return grant;
  }

  private async verify(token: string, now: number): Promise<{ claims: Claims; kid?: string }> {
    try {
      const { kid } = peekHeader(token);
      let key = this.keys.find(kid);
      if (key === undefined) {
        await this.keys.refreshOnMiss();
        key = this.keys.find(kid);
      }
      if (key === undefined) {
        if (kid === undefined) throw new AuthError(401, "missing-kid", `token has no kid and ${this.keys.size} keys are loaded`);
        throw new AuthError(401, "unknown-kid", `no key with kid "${kid}"`);
      }
      return { claims: await verifyToken(key, token, now, this.cfg.clock_skew), kid: key.kid ?? kid };
    } catch (e) {
      if (e instanceof TokenError) throw new AuthError(401, e.reason, e.message);
      if (e instanceof SourceUnavailable) throw new AuthError(502, "key-source-unavailable", "the key source is unavailable");
      if (e instanceof KeyError) {
        // Keys are imported when loaded, so this is a relay problem: say so in the log, not to the client.
        this.log.error({ err: e }, "verification key unusable");
        throw new AuthError(401, "bad-signature", "the token cannot be verified");
      }
      throw e;
    }
  }

  private anonymous(path: string): Grant {
    const pub = this.cfg.public;
    const scoped = rebase("", pub.publish, pub.subscribe, path);
    if (scoped === undefined || (scoped.publish.length === 0 && scoped.subscribe.length === 0)) {
      throw new AuthError(401, "expected-token", `anonymous access is not allowed at "/${path}"; pass a token with ?jwt=`);
    }
    return { root: path, publish: scoped.publish, subscribe: scoped.subscribe, cluster: false, anonymous: true };
  }
}

function connectionPath(url: URL): string {
  let path: string;
  try {
    path = normalize(decodeURIComponent(url.pathname));
  } catch {
    throw new AuthError(401, "invalid-path", "the URL path is not valid percent-encoding");
  }
  if (depth(path) > MAX_SEGMENTS) throw new AuthError(401, "invalid-path", `the path is deeper than ${MAX_SEGMENTS} segments`);
  // Also after decoding: "/room%2F..%2Fsecret" must not become the root "room/../secret".
  if (hasDotSegment(path)) throw new AuthError(400, "invalid-path", `the path has a "." or ".." segment`);
  return path;
}

/** Refuse a session whose declared role its grant does not cover (403, as the Rust relay). */
export function requireRole(grant: Grant, role: "publisher" | "subscriber"): void {
  const ok = role === "publisher" ? grant.publish.length > 0 : grant.subscribe.length > 0;
  if (!ok) throw new AuthError(403, "role-not-granted", `this ${grant.anonymous ? "anonymous session" : "token"} may not ${role === "publisher" ? "publish" : "subscribe"} here`);
}
