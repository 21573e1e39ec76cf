// What an IETF viewer's subgroup stream costs the relay per object: each write a transport queues
// costs some 300 bytes of heap on QMux whatever its size, so a viewer that withholds credit on a
// track of tiny objects held far more than its streams' high-water marks in bytes (50 such
// subscriptions: +162 MiB after GC). The viewer pump gathers small writes (src/session/batch.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Group, GroupCursor } from "../../src/relay/group.js";
import { RelayStats } from "../../src/relay/stats.js";
import { encodeObjectHead } from "../../src/session/ietf/object.js";
import { ObjectPump } from "../../src/session/ietf/serve-objects.js";
import { Draft } from "../../src/session/ietf/version.js";
import { IetfWriter } from "../../src/session/ietf/wire.js";
import type { SendStream } from "../../src/transport/session.js";

const v = Draft.D18;

/** A send stream that records what reaches it (the transport's side of the pump). */
class Recorder implements SendStream {
  readonly id = 3;
  writes = 0;
  bytes: Uint8Array[] = [];
  writableLength = 0;
  priority = 0;
  ended = false;
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;
  write(chunk: Uint8Array): boolean {
    this.writes++;
    this.bytes.push(chunk.slice());
    return true;
  }
  end(): void {
    this.ended = true;
  }
  reset(): void {}
}

test("a group of 2000 16-byte objects reaches the transport in a few writes, byte for byte as objects", () => {
  const g = new Group(7, Date.now());
  for (let i = 0; i < 2000; i++) g.append(i, new Uint8Array(16).fill(i & 0xff));
  g.finish();
  const out = new Recorder();
  const pump = new ObjectPump(new GroupCursor(g), v, false, new RelayStats(), () => undefined);
  pump.attach(out, new Uint8Array([1, 2, 3]));
  assert.ok(out.ended, "the stream was not finished");
  // Each queued write costs ~300 bytes of heap on QMux: 4000 writes (head, payload) were 1.2 MB
  // of heap for 38 KB of objects.
  assert.ok(out.writes <= 4, `${out.writes} writes for 2000 objects`);
  const all = Buffer.concat(out.bytes);
  assert.deepEqual([...all.subarray(0, 3)], [1, 2, 3]);
  const head = new IetfWriter(v, 8);
  encodeObjectHead(head, 0, false, undefined, 16);
  const h = head.finish();
  const expect = Buffer.concat([new Uint8Array([1, 2, 3]), ...Array.from({ length: 2000 }, (_, i) => Buffer.concat([h, new Uint8Array(16).fill(i & 0xff)]))]);
  assert.ok(all.equals(expect), "the objects on the wire differ");
});
