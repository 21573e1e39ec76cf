// Length-prefixed message framing shared by every moq-lite control message: `Message Length (i)`
// then the body. Inside a body, missing bytes and trailing bytes are both decode errors; a body
// that has not fully arrived yet is a ShortRead (the Framer waits for more).
import { DecodeError, Reader, ShortRead, Writer } from "../../util/bytes.js";
import type { Version } from "./version.js";
import { Code, MoqError } from "../error.js";
import { versionName } from "./version.js";

const scratch = new Writer(1024);
let scratchBusy = false;

/** Append `body` to `w` behind its length. */
export function writeMessage(w: Writer, body: (w: Writer) => void): void {
  // One shared scratch buffer for the common case; a nested call gets its own.
  const nested = scratchBusy;
  const tmp = nested ? new Writer(64) : scratch;
  scratchBusy = true;
  try {
    tmp.reset();
    body(tmp);
    w.varint(tmp.pos).bytes(tmp.view());
  } finally {
    scratchBusy = nested;
  }
}

/** Read one length-prefixed message from `r`, decoding its body with `body`. */
export function readMessage<T>(r: Reader, body: (r: Reader) => T): T {
  const len = r.varint();
  if (r.remaining < len) throw new ShortRead();
  const sub = new Reader(r.buf, r.pos, r.pos + len);
  let msg: T;
  try {
    msg = body(sub);
  } catch (e) {
    if (e instanceof ShortRead) throw new DecodeError("message shorter than its fields");
    throw e;
  }
  if (sub.remaining !== 0) throw new DecodeError(`${sub.remaining} trailing bytes in message`);
  r.pos += len;
  return msg;
}

/** Encode `fn`'s output as a standalone buffer (stream type prefixes included by `fn`). */
export function toBytes(fn: (w: Writer) => void, capacity = 64): Uint8Array {
  const w = new Writer(capacity);
  fn(w);
  return w.finish();
}

/** Guard for messages that do not exist in every version: using one elsewhere is a bug or a peer error. */
export function requireVersion(ok: boolean, what: string, v: Version): void {
  if (!ok) throw new MoqError(Code.Unsupported, `${what} does not exist in ${versionName(v)}`);
}
