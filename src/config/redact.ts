// Printing the effective config (`--check`) must not leak credentials. The config holds paths to
// secrets (not secret themselves), but tokens can ride inside URLs (?jwt=…, user:password@) or be
// pasted inline, so every string is scrubbed rather than a list of known keys.
import type { Config } from "./types.js";

export const REDACTED = "<redacted>";

const SECRET_PARAM = /([?&;](?:jwt|token|access_token|auth|authorization|key|secret|password|passwd|sig|signature)=)[^&#\s]*/gi;
const USERINFO_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/@]+@/gi;
// Compact JWS/JWT: base64url header starting with '{"' (eyJ), payload, signature.
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

export function redactString(s: string): string {
  return s.replace(SECRET_PARAM, `$1${REDACTED}`).replace(USERINFO_PASSWORD, `$1${REDACTED}@`).replace(JWT, REDACTED);
}

function scrub(v: unknown): unknown {
  if (typeof v === "string") return redactString(v);
  if (Array.isArray(v)) return v.map(scrub);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = scrub(x);
    return out;
  }
  return v;
}

/** A copy of `config` safe to print or log. */
export function redact(config: Config): Config {
  return scrub(config) as Config;
}
