import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeFrame, Frame, H3Error, H3ProtocolError } from "../../src/transport/h3/frame.js";
import { CapsuleParser, FrameParser, type PayloadUse } from "../../src/transport/h3/parser.js";
import { ByteQueue } from "../../src/util/byte-queue.js";
import { Writer } from "../../src/util/bytes.js";

/** Feed `bytes` split at the given sizes (cycled). */
function feed(push: (c: Uint8Array) => void, bytes: Uint8Array, sizes: number[]): void {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    push(bytes.subarray(at, at + n));
    at += n;
  }
}

const stream = Buffer.concat([
  encodeFrame(Frame.Headers, Buffer.from("head")),
  encodeFrame(0x21, Buffer.alloc(300, 1)), // unknown: skipped
  encodeFrame(Frame.Data, Buffer.from("hello ")),
  encodeFrame(Frame.Data, Buffer.from("world")),
  encodeFrame(Frame.Headers, Buffer.from("trailer")),
]);

test("frames parse the same however the bytes are split; unknown frames are skipped unbuffered", () => {
  for (const sizes of [[1], [2, 3], [7], [1000]]) {
    const seen: string[] = [];
    let data = "";
    const p = new FrameParser({
      start: (type): PayloadUse => (type === Frame.Headers ? { buffer: 64 } : type === Frame.Data ? "stream" : "skip"),
      frame: (type, payload) => seen.push(`${type}:${Buffer.from(payload).toString()}`),
      data: (_t, c) => (data += Buffer.from(c).toString()),
    });
    feed((c) => p.push(c), stream, sizes);
    assert.deepEqual(seen, ["1:head", "1:trailer"], `split ${sizes.join(",")}`);
    assert.equal(data, "hello world");
    assert.ok(p.atBoundary);
  }
});

test("a buffered frame above its cap is refused at its header, before its body", () => {
  const p = new FrameParser({ start: () => ({ buffer: 1024 }) });
  assert.throws(() => p.push(new Writer(16).varint(Frame.Headers).varint(2 ** 30).finish()), (e: unknown) => e instanceof H3ProtocolError && e.code === H3Error.ExcessiveLoad);
});

test("pause holds frames back until resume", () => {
  const seen: string[] = [];
  const p: FrameParser = new FrameParser({
    start: () => ({ buffer: 64 }),
    frame: (_t, payload) => {
      seen.push(Buffer.from(payload).toString());
      if (seen.length === 1) p.pause();
    },
  });
  p.push(Buffer.concat([encodeFrame(Frame.Headers, Buffer.from("a")), encodeFrame(Frame.Headers, Buffer.from("b"))]));
  assert.deepEqual(seen, ["a"]);
  p.resume();
  assert.deepEqual(seen, ["a", "b"]);
});

test("capsules parse across any split, and an oversized declared length is refused at once", () => {
  const capsules = Buffer.concat([new Writer(8).varint(0x2843).varint(5).bytes(Buffer.from("\0\0\0\x07x")).finish(), new Writer(8).varint(0x78ae).varint(0).finish()]);
  for (const sizes of [[1], [3], [100]]) {
    const got: Array<[number, number]> = [];
    const c = new CapsuleParser(64, (type, payload) => got.push([type, payload.byteLength]));
    feed((b) => c.push(b), capsules, sizes);
    assert.deepEqual(got, [[0x2843, 5], [0x78ae, 0]]);
  }
  const c = new CapsuleParser(64, () => assert.fail("no capsule"));
  assert.throws(() => c.push(new Writer(16).varint(0x1234).varint(65).finish()), /capsule of 65 bytes exceeds 64/);
});

test("ByteQueue: varints and bodies across chunk boundaries, views when one chunk holds them", () => {
  const q = new ByteQueue();
  const w = new Writer(32).varint(15293).varint(2 ** 40).finish();
  feed((c) => q.push(c), w, [1]);
  const a = q.peekVarint(0);
  assert.deepEqual(a, { value: 15293, size: 2 });
  assert.deepEqual(q.peekVarint(2), { value: 2 ** 40, size: 8 });
  q.skip(10);
  assert.equal(q.length, 0);
  const one = Buffer.from("abcdef");
  q.push(one);
  const view = q.take(3);
  assert.equal(view.buffer, one.buffer, "no copy inside one chunk");
  q.push(Buffer.from("gh"));
  assert.equal(Buffer.from(q.take(5)).toString(), "defgh");
  assert.equal(q.length, 0);
});
