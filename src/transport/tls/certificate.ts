// One TLS identity (PEM chain + key, leaf DER and its fingerprint), parsed from PEM files or made
// fresh as a self-signed development certificate. Browsers pin a self-signed certificate through
// `serverCertificateHashes` only if it is ECDSA P-256 and valid for at most 14 days, so that is
// what we generate.
import { createHash, createPrivateKey, KeyObject, webcrypto, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

// @peculiar/x509 signs through WebCrypto; Node's implementation is the one to use.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const SECOND = 1000;
const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** The longest validity browsers accept for a certificate pinned by hash. */
export const MAX_GENERATED_LIFETIME = 14 * DAY;

export interface Certificate {
  /** PEM certificate chain, leaf first. */
  certPem: string;
  /** PEM private key of the leaf. */
  keyPem: string;
  /** Leaf certificate, DER. */
  der: Uint8Array;
  /** Lowercase hex SHA-256 of the leaf DER (what /certificate.sha256 serves). */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

/** Parse a PEM chain and key; throws if either is malformed or they do not belong together. */
export function fromPem(certPem: string, keyPem: string): Certificate {
  const leaf = new X509Certificate(certPem);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error("the private key does not match the certificate");
  const der = new Uint8Array(leaf.raw);
  return {
    certPem,
    keyPem,
    der,
    fingerprint: createHash("sha256").update(der).digest("hex"),
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
  };
}

/**
 * A self-signed ECDSA P-256 certificate for `hosts` (DNS names and IP addresses as SANs) whose
 * whole validity, including a little backdating for clock skew, is `lifetime` ms.
 */
export async function selfSigned(hosts: string[], lifetime: number, now = Date.now()): Promise<Certificate> {
  if (hosts.length === 0) throw new Error("a generated certificate needs at least one host name");
  if (!(lifetime >= SECOND && lifetime <= MAX_GENERATED_LIFETIME)) throw new RangeError(`certificate lifetime must be between 1 s and 14 days, got ${lifetime} ms`);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  // X.509 times have whole seconds: round so that notAfter - notBefore is exactly `lifetime`.
  const backdate = Math.min(HOUR, Math.floor(lifetime / 10));
  const notBefore = new Date(Math.floor((now - backdate) / SECOND) * SECOND);
  const notAfter = new Date(notBefore.getTime() + Math.floor(lifetime / SECOND) * SECOND);
  const names = hosts.map((h) => ({ type: isIP(h) === 0 ? ("dns" as const) : ("ip" as const), value: h }));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [hosts[0]] }],
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams["keys"],
    extensions: [
      new x509.SubjectAlternativeNameExtension(names),
      new x509.BasicConstraintsExtension(false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: "pkcs8", format: "pem" }).toString();
  return fromPem(cert.toString("pem"), keyPem);
}

/** 16 random bytes as hex, kept positive and non-zero (RFC 5280 §4.1.2.2). */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString("hex");
}
