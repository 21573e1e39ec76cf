// Checks that span keys or touch the file system, run once every key has its typed value. Errors
// point at the key the user set (via `where`), falling back to the section when a default is at fault.
import { existsSync, statSync } from "node:fs";
import { isIP } from "node:net";
import type { Config } from "./types.js";
import { parsePeer, PeerUrlError, readClusterToken } from "./cluster.js";
import { ConfigError, suggest, type Where } from "./errors.js";
import { isUrl } from "./convert.js";
import { VERSIONS } from "./schema.js";
import { isHost } from "./units.js";

type Locate = (...paths: string[]) => Where;

function mustBeFile(where: Where, p: string | undefined, what: string): void {
  if (p === undefined || isUrl(p)) return;
  if (!existsSync(p)) throw new ConfigError(`${what} not found: ${p}`, where);
  if (!statSync(p).isFile()) throw new ConfigError(`${what} is not a file: ${p}`, where);
}

function peerUrl(where: Where, u: string): void {
  try {
    parsePeer(u);
  } catch (err) {
    if (err instanceof PeerUrlError) throw new ConfigError(err.message, where);
    throw err;
  }
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** Throws the first problem; returns warnings. Normalises fingerprints in place. */
export function validate(c: Config, where: Locate, file: string | undefined): string[] {
  const warnings: string[] = [];

  if (!c.server.tcp && !c.server.udp) throw new ConfigError("tcp and udp are both off: the relay would serve nothing", where("server.udp", "server.tcp"));
  if (c.server.versions.length === 0) throw new ConfigError(`list at least one version (${VERSIONS.join(", ")})`, where("server.versions"));
  for (const v of c.server.versions) {
    if ((VERSIONS as readonly string[]).includes(v)) continue;
    const hint = suggest(v, VERSIONS);
    throw new ConfigError(`unsupported version ${JSON.stringify(v)}${hint ? ` (did you mean "${hint}"?)` : ""}; supported: ${VERSIONS.join(", ")}`, where("server.versions"));
  }
  const q = c.server.quic;
  if (q.keep_alive > 0 && q.idle_timeout > 0 && q.keep_alive >= q.idle_timeout) {
    throw new ConfigError(`keep_alive (${q.keep_alive} ms) must be shorter than idle_timeout (${q.idle_timeout} ms), or idle connections time out between keep-alives`, where("server.quic.keep_alive", "server.quic.idle_timeout"));
  }
  if (q.connection_window < q.stream_window) {
    throw new ConfigError(`connection_window (${q.connection_window} bytes) is smaller than stream_window (${q.stream_window} bytes)`, where("server.quic.connection_window", "server.quic.stream_window"));
  }

  // TLS: a certificate pair or a generated one, never neither or both.
  const t = c.tls;
  if (t.cert !== undefined && t.key === undefined) throw new ConfigError("cert is set but key is not: give both (PEM chain and private key)", where("tls.cert"));
  if (t.key !== undefined && t.cert === undefined) throw new ConfigError("key is set but cert is not: give both (PEM chain and private key)", where("tls.key"));
  if (t.cert !== undefined && t.generate !== undefined) throw new ConfigError("use either cert/key or generate, not both", where("tls.generate"));
  if (t.cert === undefined && t.generate === undefined) {
    throw new ConfigError('a certificate is required: set cert and key, or generate = ["your.host"] for development', { file, key: "tls" });
  }
  if (t.generate !== undefined) {
    if (t.generate.length === 0) throw new ConfigError('list at least one host name, e.g. ["localhost"]', where("tls.generate"));
    const bad = t.generate.find((h) => !isHost(h));
    if (bad !== undefined) throw new ConfigError(`${JSON.stringify(bad)} is not a host name or IP address`, where("tls.generate"));
  }
  mustBeFile(where("tls.cert"), t.cert, "certificate file");
  mustBeFile(where("tls.key"), t.key, "key file");
  mustBeFile(where("tls.root"), t.root, "CA bundle");
  t.fingerprints = t.fingerprints.map((f) => {
    // Accept the colon-separated form browsers and openssl print; store plain lowercase hex.
    const hex = f.replace(/:/g, "").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ConfigError(`${JSON.stringify(f)} is not a SHA-256 fingerprint (64 hex digits)`, where("tls.fingerprints"));
    return hex;
  });

  const a = c.auth;
  mustBeFile(where("auth.key"), a.key, "key file");
  for (const k of a.keys) mustBeFile(where("auth.keys"), k, "key file");
  mustBeFile(where("auth.jwks"), a.jwks, "JWKS file");
  if (a.jwks !== undefined && /^http:/i.test(a.jwks) && !isLoopback(new URL(a.jwks).hostname)) {
    warnings.push("auth.jwks is fetched over plain http: anyone on the path could substitute keys; use https");
  }
  if (a.key === undefined && a.keys.length === 0 && a.jwks === undefined && a.public.publish.length === 0 && a.public.subscribe.length === 0) {
    throw new ConfigError("nobody could connect: set key, keys or jwks to accept tokens, or public for anonymous access", { file, key: "auth" });
  }

  const cl = c.cluster;
  mustBeFile(where("cluster.token"), cl.token, "token file");
  mustBeFile(where("cluster.tls_root"), cl.tls_root, "CA bundle");
  if (cl.node !== undefined) peerUrl(where("cluster.node"), cl.node);
  for (const n of cl.nodes) peerUrl(where("cluster.nodes"), n);
  for (const n of cl.connect) peerUrl(where("cluster.connect"), n);
  const listed = [...cl.nodes, ...cl.connect];
  if (listed.length > 0) {
    if (cl.node === undefined) throw new ConfigError("node is missing: set this relay's own URL (it is skipped in nodes, so every relay can share one list)", where("cluster.node", "cluster.nodes"));
    if (cl.token !== undefined) {
      try {
        readClusterToken(cl.token);
      } catch (err) {
        throw new ConfigError((err as Error).message, where("cluster.token"));
      }
    } else if (!/[?&]jwt=/.test(listed.join(" "))) {
      warnings.push("cluster.nodes is set without cluster.token: peers will only accept this relay if they allow anonymous access");
    }
    if (cl.insecure) warnings.push("cluster.insecure = true: peer certificates are not verified");
  }
  return warnings;
}
