// Plumbing shared by the moq-lite session halves: routing a stream's chunks through a Framer, and
// writing whole messages. Parse errors stop the stream and go to the session, which decides
// whether they are fatal (errorCode(err) gives the code).
import { Writer } from "../../util/bytes.js";
import type { RecvStream, SendStream } from "../../transport/session.js";
import { errorCode } from "../error.js";
import { Framer } from "./framer.js";

export interface ReadHandlers {
  /** Pull as many messages as are complete from `f`; throw on malformed input. */
  data(f: Framer): void;
  /** FIN, after the framer confirmed no message was cut off. */
  end?(): void;
  reset?(code: number): void;
}

/**
 * Route a stream's input to `h` through a Framer (a new one bounded by `maxMessage`, or the one
 * given, e.g. after the stream type was read with it). Errors thrown while parsing go to
 * `fail`; the stream is stopped (STOP_SENDING with the error's code) either way.
 */
export function readStream(recv: RecvStream, framer: Framer | number, h: ReadHandlers, fail: (err: unknown) => void): Framer {
  const f = typeof framer === "number" ? new Framer(framer) : framer;
  let dead = false;
  const guard = (fn: () => void): void => {
    if (dead) return;
    try {
      fn();
    } catch (err) {
      dead = true;
      recv.stop(errorCode(err));
      fail(err);
    }
  };
  recv.onData = (chunk) =>
    guard(() => {
      f.push(chunk);
      h.data(f);
    });
  recv.onEnd = () =>
    guard(() => {
      f.end();
      h.end?.();
    });
  recv.onReset = (code) => guard(() => h.reset?.(code));
  return f;
}

/** Write a message built by `fn` (stream type prefixes included by the caller). */
export function send(stream: SendStream, fn: (w: Writer) => void): boolean {
  const w = new Writer(64);
  fn(w);
  return stream.write(w.finish());
}
