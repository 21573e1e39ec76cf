// Read every file the relay will read, the way it will read it, before anything starts: the
// certificate and key (parsed, and matching), the CA bundle, each JWK and JWKS file, the cluster
// token. `--check` and start-up both run it, so an unreadable, empty or malformed file is one line
// naming the file rather than a failure deep in a listener. Messages never quote file contents.
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Config } from "../config/types.js";
import { loadJwks, loadKeyFile } from "../auth/sources.js";
import { peekHeader } from "../token/claims.js";
import { fromPem } from "../transport/tls/certificate.js";

/** A problem with one file: `moq-relay: <file>: <message>`. */
export class FileProblem extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "FileProblem";
  }
}

const ERRNO: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied (the relay's user cannot read it)",
  EPERM: "permission denied",
  EISDIR: "is a directory",
};

async function readText(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw new FileProblem(file, `cannot read: ${ERRNO[code] ?? (e as Error).message}${code ? ` (${code})` : ""}`);
  }
  if (text.trim() === "") throw new FileProblem(file, "is empty");
  return text;
}

/** A file path from the config that a helper reports as "<path>: why": keep only the why. */
function why(file: string, e: unknown): FileProblem {
  const msg = e instanceof Error ? e.message : String(e);
  return new FileProblem(file, msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg);
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Throws the first FileProblem; returns notes worth printing (e.g. a JWKS URL not fetched). */
export async function preflight(config: Config): Promise<string[]> {
  const notes: string[] = [];
  const { tls, auth, cluster } = config;
  if (tls.cert !== undefined && tls.key !== undefined) {
    const certPem = await readText(tls.cert);
    const keyPem = await readText(tls.key);
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(certPem);
    } catch {
      throw new FileProblem(tls.cert, "not a PEM certificate");
    }
    try {
      createPrivateKey(keyPem);
    } catch {
      throw new FileProblem(tls.key, "not a PEM private key");
    }
    try {
      fromPem(certPem, keyPem);
    } catch {
      throw new FileProblem(tls.key, `does not match the certificate in ${tls.cert}`);
    }
    if (Date.parse(leaf.validTo) < Date.now()) throw new FileProblem(tls.cert, `the certificate expired on ${new Date(leaf.validTo).toISOString()}`);
  }
  if (tls.root !== undefined) {
    try {
      new X509Certificate(await readText(tls.root));
    } catch (e) {
      throw e instanceof FileProblem ? e : new FileProblem(tls.root, "not a PEM certificate bundle");
    }
  }
  for (const file of [auth.key, ...auth.keys]) {
    if (file === undefined) continue;
    if (isUrl(file)) continue;
    await readText(file);
    await loadKeyFile(file).catch((e: unknown) => Promise.reject(why(file, e)));
  }
  if (auth.jwks !== undefined) {
    const source = auth.jwks;
    if (isUrl(source)) notes.push(`auth.jwks ${source} is fetched when the relay starts (not by --check)`);
    else {
      await readText(source);
      const skipped: string[] = [];
      await loadJwks(source, (_f, msg) => skipped.push(msg)).catch((e: unknown) => Promise.reject(why(source, e)));
      if (skipped.length > 0) notes.push(`${source}: ${skipped.length} unusable key(s) will be skipped`);
    }
  }
  if (cluster.token !== undefined) {
    const token = (await readText(cluster.token)).trim();
    try {
      peekHeader(token);
    } catch (e) {
      throw new FileProblem(cluster.token, (e as Error).message);
    }
  }
  return notes;
}
