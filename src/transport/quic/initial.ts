// Opening a client's first Initial before quiche sees it (RFC 9001 §5.2, §5.4). Anyone can derive
// Initial keys from the destination connection id, so this proves nothing about the sender; what
// it does prove is that the datagram is a real Initial. A flood of Initial-shaped garbage would
// otherwise cost a quiche connection each (about 0.2 ms and tens of kB of native memory, freed
// only when V8 gets round to collecting its wrapper): 60,000 such datagrams left 80 MiB behind.
import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";

/** QUIC v1: the only version quiche speaks here; other versions go to version negotiation. */
export const QUIC_V1 = 0x00000001;
const V1_SALT = Buffer.from("38762cf7f55934b34d179ae6a4c80cadccbb7f0a", "hex");
const TAG_LEN = 16;
const SAMPLE_LEN = 16;

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context; every length used here fits one SHA-256 block. */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`);
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  full.copy(info, 3);
  info[3 + full.length] = 0; // context length
  info[4 + full.length] = 1; // HKDF-Expand's block counter T(1)
  return createHmac("sha256", secret).update(info).digest().subarray(0, length);
}

interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** The client's Initial keys for a destination connection id. */
export function clientInitialKeys(dcid: Uint8Array): InitialKeys {
  const initial = createHmac("sha256", V1_SALT).update(dcid).digest();
  const client = expandLabel(initial, "client in", 32);
  return { key: expandLabel(client, "quic key", 16), iv: expandLabel(client, "quic iv", 12), hp: expandLabel(client, "quic hp", 16) };
}

/** A QUIC variable-length integer at `at`: [value, length], or undefined past the end. */
function varint(b: Uint8Array, at: number): [number, number] | undefined {
  if (at >= b.length) return undefined;
  const len = 1 << (b[at] >> 6);
  if (at + len > b.length) return undefined;
  let v = b[at] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
  return [v, len];
}

/**
 * Whether the first packet in `datagram` is a QUIC v1 client Initial that opens and authenticates
 * under the keys its own destination connection id gives. False for anything malformed.
 */
export function initialOpens(datagram: Uint8Array): boolean {
  const b = datagram;
  // Long header, fixed bit, type Initial (0b00).
  if (b.length < 7 || (b[0] & 0xf0) !== 0xc0) return false;
  if (((b[1] << 24) | (b[2] << 16) | (b[3] << 8) | b[4]) >>> 0 !== QUIC_V1) return false;
  let at = 5;
  const dcidLen = b[at++];
  if (dcidLen > 20 || at + dcidLen >= b.length) return false;
  const dcid = b.subarray(at, at + dcidLen);
  at += dcidLen;
  const scidLen = b[at++];
  if (scidLen > 20) return false;
  at += scidLen;
  const token = varint(b, at);
  if (token === undefined) return false;
  at += token[1] + token[0];
  const length = varint(b, at);
  if (length === undefined) return false;
  at += length[1];
  const pnOffset = at;
  const end = pnOffset + length[0];
  // The sample starts 4 bytes past the packet number's offset whatever its real length.
  if (end > b.length || pnOffset + 4 + SAMPLE_LEN > end) return false;

  const keys = clientInitialKeys(dcid);
  const hp = createCipheriv("aes-128-ecb", keys.hp, null).setAutoPadding(false);
  const mask = hp.update(b.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_LEN));
  const first = b[0] ^ (mask[0] & 0x0f);
  const pnLen = (first & 0x03) + 1;
  if (pnOffset + pnLen + TAG_LEN > end) return false;
  const header = Buffer.from(b.subarray(0, pnOffset + pnLen));
  header[0] = first;
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < pnLen; i++) {
    header[pnOffset + i] ^= mask[1 + i];
    // The packet number, left-padded to the IV's length, is XORed into its tail. A client's
    // first Initials have no earlier packet to expand against: the truncated number is the number.
    nonce[nonce.length - pnLen + i] ^= header[pnOffset + i];
  }
  try {
    const aead = createDecipheriv("aes-128-gcm", keys.key, nonce, { authTagLength: TAG_LEN });
    aead.setAAD(header);
    aead.setAuthTag(b.subarray(end - TAG_LEN, end));
    aead.update(b.subarray(pnOffset + pnLen, end - TAG_LEN));
    aead.final();
    return true;
  } catch {
    return false;
  }
}
