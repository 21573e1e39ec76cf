// Plumbing shared by the moq-lite session halves: feeding a stream's chunks to a parser, and
// writing whole messages.
import { Writer } from "../../util/bytes.js";
import type { RecvStream, SendStream } from "../../transport/session.js";
import { ChunkBuffer } from "./buffer.js";

export interface ReadHandlers {
  /** Parse as much as possible from `buf`; throw on malformed input. */
  data(buf: ChunkBuffer): void;
  end?(): void;
  reset?(code: number): void;
}

/**
 * Route a stream's input to `h`. Errors thrown while parsing go to `fail` (the session decides
 * whether that is fatal); the stream is stopped either way.
 */
export function readStream(recv: RecvStream, limit: number, h: ReadHandlers, fail: (err: unknown) => void, initial?: ChunkBuffer): ChunkBuffer {
  const buf = initial ?? new ChunkBuffer(limit);
  let dead = false;
  const guard = (fn: () => void): void => {
    if (dead) return;
    try {
      fn();
    } catch (err) {
      dead = true;
      recv.stop(0);
      fail(err);
    }
  };
  recv.onData = (chunk) =>
    guard(() => {
      buf.push(chunk);
      h.data(buf);
    });
  recv.onEnd = () => guard(() => h.end?.());
  recv.onReset = (code) => guard(() => h.reset?.(code));
  return buf;
}

/** Write a message built by `fn` (stream type prefixes included by the caller). */
export function send(stream: SendStream, fn: (w: Writer) => void): boolean {
  const w = new Writer(64);
  fn(w);
  return stream.write(w.finish());
}
