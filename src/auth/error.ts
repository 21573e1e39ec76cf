// Why a connection was refused. Every refusal closes the session with moq-lite's Unauthorized code;
// `status` is what HTTP-facing paths (WebSocket upgrade, /announced, /fetch) answer with.
import type { TokenFailure } from "../token/claims.js";

export type AuthReason =
  | TokenFailure
  /** No token, and the path is not public. */
  | "expected-token"
  /** A token, but this relay has no keys to verify one. */
  | "unexpected-token"
  /** The token's kid names no loaded key. */
  | "unknown-kid"
  /** The token has no kid and several keys are loaded. */
  | "missing-kid"
  /** The connection path is unrelated to the token root, or nothing is left under it. */
  | "incorrect-root"
  /** The URL path cannot be decoded or is too deep. */
  | "invalid-path"
  /** The session asked for a role (publisher/subscriber) its grant lacks. */
  | "role-not-granted"
  /** The JWKS URL could not be fetched while looking for an unknown kid. */
  | "key-source-unavailable";

/** moq-lite's Unauthorized close code. */
export const UNAUTHORIZED = 6;

export class AuthError extends Error {
  readonly code = UNAUTHORIZED;
  constructor(
    readonly status: 400 | 401 | 403 | 502,
    readonly reason: AuthReason,
    message: string,
  ) {
    super(message);
    this.name = "AuthError";
  }
}
