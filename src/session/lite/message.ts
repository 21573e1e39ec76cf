// Length-prefixed message framing: `Message Length (i)` then the body. Trailing or missing bytes
// inside a body are decode errors; a body not yet fully received is a ShortRead (wait for more).
import { DecodeError, Reader, ShortRead, Writer } from "../../util/bytes.js";

const scratch = new Writer(1024);
let scratchBusy = false;

/** Append `body` to `w` behind its length. */
export function encodeMessage(w: Writer, body: (w: Writer) => void): void {
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

/** Decode one message from `r`; `max` bounds the body size. */
export function decodeMessage<T>(r: Reader, max: number, body: (r: Reader) => T): T {
  const len = r.varint();
  if (len > max) throw new DecodeError(`message of ${len} bytes exceeds the ${max}-byte limit`);
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

/** A whole encoded message as its own buffer. */
export function message(body: (w: Writer) => void, prefix?: (w: Writer) => void): Uint8Array {
  const w = new Writer(64);
  prefix?.(w);
  encodeMessage(w, body);
  return w.finish();
}
