// Plumbing shared by the moq-lite session halves: following a control stream through a Framer
// (handing over bytes already buffered), resetting both directions, error codes of rejections,
// frame heads without an allocation per frame, and the send-order rank of group streams.
import type { BidiStream, RecvStream } from "../../transport/session.js";
import { Writer } from "../../util/bytes.js";
import { errorCode, MoqError } from "../error.js";
import type { Framer } from "./framer.js";
import { encodeFrameHead } from "./group.js";
import type { Version } from "./version.js";

export interface Follow {
  /** Pull every complete message out of the framer; throw on malformed input. */
  data(f: Framer): void;
  /** FIN, after the framer confirmed no message was cut off. */
  end?(): void;
  reset?(code: number): void;
}

/**
 * Route `recv` through `framer` (which may already hold bytes read past the first message) to
 * `h`. A parse error stops the stream and goes to `fail` (the session decides if it is fatal).
 */
export function follow(recv: RecvStream, framer: Framer, h: Follow, fail: (err: unknown) => void): void {
  const g = guardRecv(
    recv,
    {
      data: (chunk) => {
        framer.push(chunk);
        h.data(framer);
      },
      end: () => {
        framer.end();
        h.end?.();
      },
      reset: (code) => h.reset?.(code),
    },
    fail,
  );
  if (framer.pending > 0) g.run(() => h.data(framer));
}

export interface ChunkHandlers {
  data(chunk: Uint8Array): void;
  end?(): void;
  reset?(code: number): void;
}

export interface Guard {
  /** Run `fn` under the guard (nothing runs once the stream is dead). */
  run(fn: () => void): void;
  /** Give up on the stream: STOP_SENDING with `code`, ignore anything further. */
  stop(code: number): void;
}

/**
 * Deliver a stream's chunks to `h` until the first error: that stops the stream with the error's
 * code and goes to `fail`; nothing is delivered afterwards. One place for every stream reader.
 */
export function guardRecv(recv: RecvStream, h: ChunkHandlers, fail: (err: unknown) => void): Guard {
  let dead = false;
  const run = (fn: () => void): void => {
    if (dead) return;
    try {
      fn();
    } catch (err) {
      dead = true;
      recv.stop(errorCode(err));
      fail(err);
    }
  };
  recv.onData = (chunk) => run(() => h.data(chunk));
  recv.onEnd = () => run(() => h.end?.());
  recv.onReset = (code) => {
    if (dead) return;
    dead = true;
    h.reset?.(code);
  };
  return {
    run,
    stop: (code) => {
      if (dead) return;
      dead = true;
      recv.stop(code);
    },
  };
}

/** Abort a request stream in both directions (a refusal, or an unexpected stream). */
export function refuse(stream: BidiStream, code: number): void {
  stream.send.reset(code);
  stream.recv.stop(code);
  stream.recv.onData = null;
  stream.recv.onEnd = null;
  stream.recv.onReset = null;
}

/** The MoQ code to reset a request with when `err` rejected it (`fallback` if it carries none). */
export function codeOf(err: unknown, fallback: number): number {
  if (err instanceof MoqError) return err.code;
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "number") return err.code;
  return fallback;
}

const SLAB = 16 * 1024;
const MAX_HEAD = 16;
const scratch = new Writer(MAX_HEAD);
let slab = new Uint8Array(SLAB);
let slabPos = 0;

/**
 * The bytes before a frame's payload, as a view into a shared slab: the transport keeps a
 * reference to what it is given, so each head needs its own bytes, but not its own buffer.
 */
export function frameHead(v: Version, delta: number, length: number): Uint8Array {
  scratch.reset();
  encodeFrameHead(scratch, v, delta, length);
  const n = scratch.pos;
  if (slabPos + n > SLAB) {
    slab = new Uint8Array(SLAB); // the old slab lives on in the views still queued
    slabPos = 0;
  }
  slab.set(scratch.view(), slabPos);
  const out = slab.subarray(slabPos, slabPos + n);
  slabPos += n;
  return out;
}

const SEQUENCE_SPAN = 2 ** 36;

/**
 * SendStream.priority for a group stream (lower = sent first; control streams keep 0 and always
 * go first). Higher subscriber priority first, then higher publisher priority, then the newest
 * group (or the oldest for an ordered subscription).
 */
export function groupRank(subscriber: number, publisher: number, sequence: number, ordered: boolean): number {
  const tier = (255 - clamp8(subscriber)) * 256 + (255 - clamp8(publisher));
  const pos = sequence % SEQUENCE_SPAN;
  return 1 + tier * SEQUENCE_SPAN + (ordered ? pos : SEQUENCE_SPAN - 1 - pos);
}

function clamp8(n: number): number {
  return Math.min(255, Math.max(0, Math.trunc(n)));
}
