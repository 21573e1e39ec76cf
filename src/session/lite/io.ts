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

export interface ChunkHandlers {
  data(chunk: Uint8Array): void;
  end?(): void;
  reset?(code: number): void;
}

/**
 * Route a stream's raw chunks to `h`. The first error thrown by a handler stops the stream and
 * goes to `fail` (the session decides whether it is fatal); nothing is delivered after that.
 * Returns a function that feeds bytes the caller had already read (same guard).
 */
export function guardStream(recv: RecvStream, h: ChunkHandlers, fail: (err: unknown) => void): (chunk: Uint8Array) => void {
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
  recv.onData = (chunk) => guard(() => h.data(chunk));
  recv.onEnd = () => guard(() => h.end?.());
  recv.onReset = (code) => guard(() => h.reset?.(code));
  return (chunk) => guard(() => h.data(chunk));
}

/** Route a stream's input through a ChunkBuffer to a message parser (see guardStream). */
export function readStream(recv: RecvStream, limit: number, h: ReadHandlers, fail: (err: unknown) => void, initial?: ChunkBuffer): ChunkBuffer {
  const buf = initial ?? new ChunkBuffer(limit);
  guardStream(
    recv,
    {
      data: (chunk) => {
        buf.push(chunk);
        h.data(buf);
      },
      end: () => h.end?.(),
      reset: (code) => h.reset?.(code),
    },
    fail,
  );
  return buf;
}

/** Write a message built by `fn` (stream type prefixes included by the caller). */
export function send(stream: SendStream, fn: (w: Writer) => void): boolean {
  const w = new Writer(64);
  fn(w);
  return stream.write(w.finish());
}
