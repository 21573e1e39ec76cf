// What a QUIC server can answer without keeping state: Retry tokens (address validation, RFC 9000
// §8.1) and stateless reset tokens (§10.3). Both come from keys drawn at random when the process
// starts, so nothing is configured and nothing outlives the process: a restarted relay's resets
// no longer match its predecessor's connections, which then end by idle timeout as before.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

const TOKEN_KEY = randomBytes(32);
const RESET_KEY = randomBytes(32);
const TOKEN_FORMAT = 0x52; // first byte of our Retry tokens
const MAC_LEN = 16;

function mac(parts: Uint8Array[]): Buffer {
  const h = createHmac("sha256", TOKEN_KEY);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, MAC_LEN);
}

/**
 * A Retry token for a client at `address` (a host key: the port may change behind a NAT) whose
 * first Initial was sent to `odcid`: format byte, issue time (ms), odcid, then a MAC over all of
 * it and the address.
 */
export function mintRetryToken(address: string, odcid: Uint8Array, now = Date.now()): Buffer {
  const head = Buffer.alloc(10);
  head[0] = TOKEN_FORMAT;
  head.writeUIntBE(Math.floor(now), 1, 6);
  head.writeUInt8(0, 7); // reserved
  head.writeUInt16BE(odcid.byteLength, 8);
  const body = Buffer.concat([head, odcid]);
  return Buffer.concat([body, mac([body, Buffer.from(address)])]);
}

/** The original destination connection id a token vouches for, or undefined if forged, foreign or stale. */
export function checkRetryToken(token: Uint8Array, address: string, maxAgeMs: number, now = Date.now()): Uint8Array | undefined {
  if (token.byteLength < 10 + MAC_LEN || token[0] !== TOKEN_FORMAT) return undefined;
  const t = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
  const len = t.readUInt16BE(8);
  if (len > 20 || t.byteLength !== 10 + len + MAC_LEN) return undefined;
  const body = t.subarray(0, 10 + len);
  if (!timingSafeEqual(mac([body, Buffer.from(address)]), t.subarray(10 + len))) return undefined;
  const issued = t.readUIntBE(1, 6);
  if (issued > now + 1000 || now - issued > maxAgeMs) return undefined;
  return Uint8Array.prototype.slice.call(t, 10, 10 + len);
}

/** The 16-byte stateless reset token for one of our connection ids. */
export function resetToken(cid: Uint8Array): Buffer {
  return createHmac("sha256", RESET_KEY).update(cid).digest().subarray(0, 16);
}

/** The same token as quiche's config wants it: a 128-bit integer, big-endian. */
export function resetTokenBig(cid: Uint8Array): bigint {
  return BigInt(`0x${resetToken(cid).toString("hex")}`);
}

/** Smallest datagram we answer with a reset: 5 unpredictable bytes and the token, plus one. */
const MIN_TRIGGER = 22;

/**
 * A stateless reset for a short-header datagram of `triggerLength` bytes to connection id `cid`:
 * smaller than the trigger (so two endpoints cannot ping-pong resets forever, §10.3.3), at least
 * 21 bytes, looking like any short-header packet. Undefined when the trigger is too small.
 */
export function statelessReset(triggerLength: number, cid: Uint8Array): Buffer | undefined {
  if (triggerLength < MIN_TRIGGER) return undefined;
  const size = Math.min(triggerLength - 1, 43);
  const out = randomBytes(size);
  out[0] = 0x40 | (out[0] & 0x3f); // short header, fixed bit set
  resetToken(cid).copy(out, size - 16);
  return out;
}

/** A token bucket: `rate` per second, bursts up to `rate`. */
export class Budget {
  private tokens: number;
  private last = Date.now();

  constructor(private readonly rate: number) {
    this.tokens = rate;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
