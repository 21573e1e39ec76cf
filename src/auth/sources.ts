// Reading key material: a JWK file, a JWKS document `{"keys": [...]}` from a file or an http(s)
// URL. Error messages name the source but never quote its contents (they are secrets).
import { readFile } from "node:fs/promises";
import { KeyError, parseKey, toJwk, type Jwk } from "../token/key.js";

/** The URL could not be fetched (network, timeout, non-2xx): the relay answers 502, not 401. */
export class SourceUnavailable extends Error {}

export const FETCH_TIMEOUT_MS = 10_000;
const MAX_BYTES = 1 << 20;

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export async function readSource(source: string, timeoutMs = FETCH_TIMEOUT_MS): Promise<string> {
  if (!isUrl(source)) {
    try {
      return await readFile(source, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`${source}: ${code === "ENOENT" ? "no such file" : (code ?? (e as Error).message)}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(source, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
  } catch (e) {
    const timedOut = (e as Error).name === "TimeoutError";
    throw new SourceUnavailable(`${source}: ${timedOut ? `no answer within ${timeoutMs} ms` : (e as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new SourceUnavailable(`${source}: HTTP ${res.status}`);
  }
  const text = await res.text();
  if (text.length > MAX_BYTES) throw new Error(`${source}: larger than ${MAX_BYTES} bytes`);
  return text;
}

/** One JWK file (JSON or base64url JSON). */
export async function loadKeyFile(source: string): Promise<Jwk> {
  const text = await readSource(source);
  try {
    return parseKey(text);
  } catch (e) {
    if (e instanceof KeyError) throw new Error(`${source}: ${e.message}`);
    throw e;
  }
}

/**
 * A JWKS document. Keys we cannot use (no alg, an unsupported type, an encryption key) are skipped
 * with a warning, as a JWKS published for several consumers may carry them; none usable is an error.
 */
export async function loadJwks(source: string, warn: (fields: object, msg: string) => void): Promise<Jwk[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readSource(source));
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${source}: not JSON`);
    throw e;
  }
  const list = typeof doc === "object" && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new Error(`${source}: expected a JWKS document {"keys": [...]}`);
  const keys: Jwk[] = [];
  list.forEach((raw: unknown, index) => {
    try {
      keys.push(toJwk(raw));
    } catch (e) {
      const kid = typeof raw === "object" && raw !== null ? (raw as { kid?: unknown }).kid : undefined;
      warn({ source, index, kid: typeof kid === "string" ? kid : undefined, err: (e as Error).message }, "skipping unusable JWKS key");
    }
  });
  if (keys.length === 0) throw new Error(`${source}: no usable keys in the JWKS`);
  return keys;
}
