// The [cluster] section read into peers: each node URL's scheme picks the transport, `?cost=N`
// prices the link and `?fingerprint=sha256:<hex>` pins its certificate; this relay's own `node`
// is skipped so every relay can be given the same list. Shared by --check and the cluster.
import { readFileSync } from "node:fs";
import type { ClusterConfig } from "./types.js";

/** Schemes a peer may be dialed with. */
export const PEER_SCHEMES = ["https:", "http:", "moql:"] as const;

export interface PeerSpec {
  /** The URL as dialed, without cost/fingerprint/jwt (safe to log and show in /nodes). */
  url: string;
  /** Link cost added to routes learned through this peer (default 1). */
  cost: number;
  /** Pinned SHA-256 of the peer's leaf certificate (lowercase hex), if any. */
  fingerprint?: string;
  /** A token given inline as `?jwt=` (overrides [cluster] token for this peer). */
  jwt?: string;
}

/** A peer URL that cannot be dialed: why, in one line. */
export class PeerUrlError extends Error {}

/** Canonical form for comparing node URLs (scheme, host, port, path; no query). */
export function canonicalNode(u: string): string {
  const url = new URL(u);
  const port = url.port || (url.protocol === "http:" ? "80" : "443");
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}${url.pathname.replace(/\/+$/, "")}`;
}

/** Parse one node URL; throws PeerUrlError. */
export function parsePeer(raw: string): PeerSpec {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PeerUrlError(`${JSON.stringify(raw)} is not a URL (expected https://host:port or moql://host:port)`);
  }
  if (!(PEER_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new PeerUrlError(`${JSON.stringify(raw)}: scheme ${url.protocol} cannot be dialed (use https://, http:// or moql://)`);
  }
  if (url.hostname === "") throw new PeerUrlError(`${JSON.stringify(raw)}: no host`);
  const spec: PeerSpec = { url: "", cost: 1 };
  const cost = url.searchParams.get("cost");
  if (cost !== null) {
    if (!/^\d{1,6}$/.test(cost)) throw new PeerUrlError(`${JSON.stringify(redactQuery(raw))}: cost must be a whole number (0-999999), not ${JSON.stringify(cost)}`);
    spec.cost = Number(cost);
  }
  const pin = url.searchParams.get("fingerprint");
  if (pin !== null) {
    const hex = pin.replace(/^sha256:/i, "").replace(/:/g, "").toLowerCase();
    if (!/^sha256:/i.test(pin) || !/^[0-9a-f]{64}$/.test(hex)) throw new PeerUrlError(`${JSON.stringify(redactQuery(raw))}: fingerprint must be sha256:<64 hex digits>`);
    spec.fingerprint = hex;
  }
  const jwt = url.searchParams.get("jwt");
  if (jwt !== null && jwt !== "") spec.jwt = jwt;
  for (const k of ["cost", "fingerprint", "jwt"]) url.searchParams.delete(k);
  spec.url = url.toString();
  return spec;
}

/** Every peer to dial: nodes and connect, without this relay's own node, deduplicated. */
export function peersOf(c: ClusterConfig): PeerSpec[] {
  const self = c.node !== undefined ? canonicalNode(c.node) : undefined;
  const seen = new Set<string>();
  const out: PeerSpec[] = [];
  for (const raw of [...c.nodes, ...c.connect]) {
    const p = parsePeer(raw);
    const key = canonicalNode(p.url);
    if (key === self || seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** The URL without its query (tokens ride there). */
export function redactQuery(u: string): string {
  const i = u.indexOf("?");
  return i < 0 ? u : u.slice(0, i);
}

/**
 * Read and check the cluster token file: a JWT whose payload carries `cluster: true` and has not
 * expired. Returns the token text; throws an Error with a one-line reason. The signature is the
 * peers' business (they hold the key); this catches the usual operator mistakes early.
 */
export function readClusterToken(path: string, now = Date.now()): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new Error(`token file unreadable: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const parts = text.split(".");
  if (parts.length !== 3) throw new Error("token file does not hold a JWT (header.payload.signature)");
  let payload: { cluster?: unknown; exp?: unknown };
  try {
    payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as typeof payload;
  } catch {
    throw new Error("token payload is not JSON");
  }
  if (payload.cluster !== true) throw new Error("token is not a cluster token (sign it with --cluster)");
  if (typeof payload.exp === "number" && payload.exp * 1000 <= now) throw new Error(`token expired at ${new Date(payload.exp * 1000).toISOString()}`);
  return text;
}
