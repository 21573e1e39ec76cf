// Parsers for the human-friendly value forms the config accepts: sizes, durations, bind addresses.
import { isIP } from "node:net";

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** Bytes from an integer, "512MiB", "64MB", or "25%" of `memory`. Throws a message on bad input. */
export function parseSize(v: unknown, memory: number): number {
  if (typeof v === "number" || typeof v === "bigint") {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${String(v)} is not a byte count`);
    return n;
  }
  if (typeof v !== "string") throw new Error(`expected a size such as "512MiB" or "25%"`);
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  if (pct) {
    const p = Number(pct[1]);
    if (p <= 0 || p > 100) throw new Error(`"${v}" must be a percentage above 0 and at most 100`);
    return Math.floor((memory * p) / 100);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`"${v}" is not a size (use bytes, "512MiB", "64MB" or "25%")`);
  return Math.floor(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from an integer (ms) or "500ms" / "30s" / "2m" / "1h" / "1d". */
export function parseDuration(v: unknown): number {
  if (typeof v === "number" || typeof v === "bigint") {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${String(v)} is not a duration in milliseconds`);
    return n;
  }
  if (typeof v !== "string") throw new Error(`expected a duration such as "30s" or "500ms"`);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(v);
  if (!m) throw new Error(`"${v}" is not a duration (use "500ms", "30s", "2m", "1h")`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]]);
}

const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** An IP address or a DNS name (as a certificate subject or a bind host). */
export function isHost(host: string): boolean {
  return isIP(host) !== 0 || HOSTNAME.test(host);
}

/** "host:port" or "[v6]:port" → parts. Port 0 means an ephemeral port (tests). */
export function parseBind(v: string): { host: string; port: number } {
  let host: string;
  let port: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(v);
  if (v6) {
    host = v6[1];
    port = v6[2];
    if (isIP(host) !== 6) throw new Error(`"${v}": "${host}" is not an IPv6 address`);
  } else {
    const i = v.lastIndexOf(":");
    if (i <= 0 || v.indexOf(":") !== i) throw new Error(`"${v}" is not host:port (IPv6 needs brackets: "[::]:4443")`);
    host = v.slice(0, i);
    port = v.slice(i + 1);
    if (!isHost(host)) throw new Error(`"${v}": "${host}" is not an IP address or host name`);
  }
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`"${v}": port must be 1..65535 (0 = any free port)`);
  return { host, port: Number(port) };
}
