// Writing whole moq-lite messages onto a stream. (Following a stream through a Framer lives in
// session-io.ts.)
import { Writer } from "../../util/bytes.js";
import type { SendStream } from "../../transport/session.js";

/** Write a message built by `fn` (stream type prefixes included by the caller). */
export function send(stream: SendStream, fn: (w: Writer) => void): boolean {
  const w = new Writer(64);
  fn(w);
  return stream.write(w.finish());
}
