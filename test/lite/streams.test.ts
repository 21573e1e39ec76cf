// Incremental parsing as the session uses it: however the transport splits a stream into chunks,
// the same messages and frames come out, and group payloads are views into the transport's
// chunks (no copy) unless a frame spans chunks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writer } from "../../src/util/bytes.js";
import { Code } from "../../src/session/error.js";
import { Announce, AnnounceOk, AnnounceRequest } from "../../src/session/lite/announce.js";
import { Framer } from "../../src/session/lite/framer.js";
import { encodeFrame, FrameEncoder, GroupHeader, GroupParser, unzigzag, zigzag } from "../../src/session/lite/group.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import {
  decodeSubscribeResponse,
  encodeSubscribeResponse,
  SubscribeDrop,
  SubscribeEnd,
  SubscribeOk,
  SubscribeStart,
  type SubscribeResponse,
} from "../../src/session/lite/subscribe.js";
import { typedSubscribeResponses, Version } from "../../src/session/lite/version.js";
import { bytesOf, frameAll } from "./wire.js";

const { Lite03, Lite04, Lite05 } = Version;

/** Deterministic pseudo-random chunk boundaries. */
function splits(bytes: Uint8Array, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let s = seed;
  for (let i = 0; i < bytes.length; ) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const n = 1 + (s % 9);
    out.push(bytes.slice(i, i + n));
    i += n;
  }
  return out;
}

interface Parsed {
  header: GroupHeader | undefined;
  frames: Array<[number, string]>;
}

function parseGroup(v: Version, chunks: readonly Uint8Array[], header = true): Parsed {
  const out: Parsed = { header: undefined, frames: [] };
  const p = new GroupParser(v, 1 << 20, { header: (h) => (out.header = h), frame: (ts, payload) => out.frames.push([ts, new TextDecoder().decode(payload)]) }, header);
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

test("zigzag maps signed deltas to varints and back", () => {
  for (const [s, u] of [
    [0, 0],
    [-1, 1],
    [1, 2],
    [-2, 3],
    [1858, 3716],
  ]) {
    assert.equal(zigzag(s), u);
    assert.equal(unzigzag(u), s);
  }
});

test("an announce stream parses the same in one chunk, byte by byte, or in random pieces", () => {
  const stream = bytesOf((w) => {
    new AnnounceOk(0x1234n, 2).encode(w, Lite05);
    Announce.active("a", [1n]).encode(w, Lite05);
    Announce.active("b/c", []).encode(w, Lite05);
    Announce.ended("a").encode(w, Lite05);
  });
  const read = (f: Framer, state: { ok: boolean }): AnnounceOk | Announce | undefined => {
    if (!state.ok) {
      const ok = f.next((r) => AnnounceOk.decode(r, Lite05));
      if (ok !== undefined) state.ok = true;
      return ok;
    }
    return f.next((r) => Announce.decode(r, Lite05));
  };
  const one = { ok: false };
  const expected = frameAll(stream, stream.length, (f) => read(f, one));
  assert.equal(expected.length, 4);
  assert.deepEqual(expected[3], Announce.ended("a"));
  for (const step of [1, 2, 5]) {
    const st = { ok: false };
    assert.deepEqual(frameAll(stream, step, (f) => read(f, st)), expected, `chunk size ${step}`);
  }
  for (const seed of [1, 2, 3]) {
    const f = new Framer(256);
    const st = { ok: false };
    const got: Array<AnnounceOk | Announce> = [];
    for (const c of splits(stream, seed)) {
      f.push(c);
      for (let m = read(f, st); m !== undefined; m = read(f, st)) got.push(m);
    }
    f.end();
    assert.deepEqual(got, expected, `random split ${seed}`);
  }
});

test("typed subscribe responses (lite-05 START/DROP/END, lite-03 OK/DROP) parse byte by byte", () => {
  const cases: Array<[Version, SubscribeResponse[]]> = [
    [Lite05, [new SubscribeStart(10), new SubscribeDrop(11, 12, Code.Old), new SubscribeEnd(20)]],
    [Lite03, [new SubscribeOk({ priority: 1, ordered: false, maxLatency: 100, start: 4 }), new SubscribeDrop(5, 5, Code.Dropped)]],
  ];
  for (const [v, responses] of cases) {
    const bytes = bytesOf((w) => {
      for (const r of responses) encodeSubscribeResponse(w, r, v);
    });
    for (const step of [bytes.length, 1]) {
      assert.deepEqual(
        frameAll(bytes, step, (f) => f.next((r) => decodeSubscribeResponse(r, v), typedSubscribeResponses(v))),
        responses,
      );
    }
  }
});

test("the framer hands the rest of a stream to another parser after reading its type", () => {
  const w = new Writer();
  w.varint(Uni.Group);
  new GroupHeader(1, 2).encode(w, Lite05);
  encodeFrame(w, Lite05, 5, text("x"));
  const bytes = w.finish();
  const f = new Framer(64);
  f.push(bytes);
  assert.equal(f.varint(), Uni.Group);
  const rest = f.drain();
  assert.equal(f.pending, 0);
  assert.deepEqual(parseGroup(Lite05, [rest]), { header: new GroupHeader(1, 2), frames: [[5, "x"]] });
});

test("a bidi stream's type and first message can arrive in the same chunk or split anywhere", () => {
  const bytes = bytesOf((w) => new AnnounceRequest("room", 7n).encode(w.varint(Bidi.Announce), Lite04));
  for (let cut = 0; cut <= bytes.length; cut++) {
    const f = new Framer(64);
    let type: number | undefined;
    let req: AnnounceRequest | undefined;
    for (const c of [bytes.slice(0, cut), bytes.slice(cut)]) {
      f.push(c);
      type ??= f.varint();
      if (type !== undefined) req ??= f.next((r) => AnnounceRequest.decode(r, Lite04));
    }
    assert.equal(type, Bidi.Announce);
    assert.deepEqual(req, new AnnounceRequest("room", 7n), `cut at ${cut}`);
  }
});

/** A lite-05 group: header, then frames with absolute timestamps (deltas may be negative). */
function group(v: Version, frames: Array<[number, string]>, withHeader = true): Uint8Array {
  const w = new Writer();
  if (withHeader) new GroupHeader(3, 99).encode(w, v);
  const enc = new FrameEncoder(v);
  for (const [ts, payload] of frames) {
    const p = text(payload);
    enc.head(w, ts, p.length);
    w.bytes(p);
  }
  return w.finish();
}

test("group frames come out the same for any chunking, including empty payloads and negative deltas", () => {
  const frames: Array<[number, string]> = [
    [1000, "keyframe"],
    [1033, ""],
    [1016, "b-frame"],
    [1066, "x".repeat(300)],
  ];
  const bytes = group(Lite05, frames);
  const expected = { header: new GroupHeader(3, 99), frames };
  assert.deepEqual(parseGroup(Lite05, [bytes]), expected);
  assert.deepEqual(
    parseGroup(
      Lite05,
      Array.from(bytes, (b) => new Uint8Array([b])),
    ),
    expected,
  );
  for (const seed of [7, 8, 9, 10]) assert.deepEqual(parseGroup(Lite05, splits(bytes, seed)), expected, `split ${seed}`);
});

test("lite-04 frames carry no timestamp: the bytes are length and payload only, timestamps read as 0", () => {
  const bytes = group(Lite04, [
    [500, "ab"],
    [900, "c"],
  ]);
  assert.deepEqual(bytes, new Uint8Array([0x03, 0x03, 0x40, 0x63, 0x02, 0x61, 0x62, 0x01, 0x63]));
  assert.deepEqual(parseGroup(Lite04, [bytes]).frames, [
    [0, "ab"],
    [0, "c"],
  ]);
  // The same frames on lite-05 carry zigzag deltas 500 and 400.
  assert.deepEqual(
    group(Lite05, [
      [500, "ab"],
      [900, "c"],
    ]).subarray(4),
    new Uint8Array([0x43, 0xe8, 0x02, 0x61, 0x62, 0x43, 0x20, 0x01, 0x63]),
  );
});

test("a fetch response is bare frames with no GROUP header", () => {
  const bytes = group(
    Lite05,
    [
      [10, "one"],
      [20, "two"],
    ],
    false,
  );
  assert.deepEqual(parseGroup(Lite05, [bytes], false), {
    header: undefined,
    frames: [
      [10, "one"],
      [20, "two"],
    ],
  });
});

test("a zero-frame group is legal: header then FIN", () => {
  assert.deepEqual(parseGroup(Lite05, [group(Lite05, [])]), { header: new GroupHeader(3, 99), frames: [] });
});

test("payloads inside one chunk are views of that chunk; only a frame spanning chunks is copied", () => {
  const bytes = group(Lite05, [
    [0, "first frame"],
    [40, "second frame"],
  ]);
  const cut = bytes.length - 5; // inside the second payload
  const first = bytes.slice(0, cut);
  const second = bytes.slice(cut);
  const seen: Uint8Array[] = [];
  const p = new GroupParser(Lite05, 1024, { header: () => undefined, frame: (_ts, payload) => seen.push(payload) });
  p.push(first);
  p.push(second);
  p.end();
  assert.equal(seen.length, 2);
  assert.equal(seen[0].buffer, first.buffer, "frame inside one chunk: a view, no copy");
  assert.equal(new TextDecoder().decode(seen[0]), "first frame");
  assert.notEqual(seen[1].buffer, first.buffer);
  assert.notEqual(seen[1].buffer, second.buffer);
  assert.equal(new TextDecoder().decode(seen[1]), "second frame", "a spanning frame is reassembled");

  // Many frames in one chunk: every payload points into it.
  const many = group(
    Lite05,
    Array.from({ length: 50 }, (_, i): [number, string] => [i * 33, `frame ${i}`]),
  );
  const views: Uint8Array[] = [];
  const q = new GroupParser(Lite05, 1024, { header: () => undefined, frame: (_ts, payload) => views.push(payload) });
  q.push(many);
  q.end();
  assert.equal(views.length, 50);
  for (const v of views) assert.equal(v.buffer, many.buffer);
});

test("messages decoded from bytes buffered across chunks stay intact as more data arrives", () => {
  // Several partial pushes force the framer to assemble in its own buffer; the decoded message
  // must not change when later chunks are appended.
  const bytes = bytesOf((w) => {
    for (let i = 0; i < 20; i++) Announce.active(`broadcast-${i}`, [BigInt(i + 1)]).encode(w, Lite04);
  });
  const got = frameAll(bytes, 7, (f) => f.next((r) => Announce.decode(r, Lite04)));
  assert.equal(got.length, 20);
  got.forEach((a, i) => assert.deepEqual(a, Announce.active(`broadcast-${i}`, [BigInt(i + 1)])));
});
