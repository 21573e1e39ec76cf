// The Node harness against the real client's own server half (no relay involved): if these pass,
// a failing relay end-to-end test points at the relay, not at the helpers.
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { connect, publish, subscribe, upgrade, waitAnnounced, watchAnnounced, type Conn } from "../util/moq.js";
import { startReferenceServer, type ReferenceServer } from "./reference.js";

let server: ReferenceServer;
const open: Conn[] = [];
before(async () => {
  server = await startReferenceServer();
});
after(async () => {
  for (const c of open) c.close();
  await server.close();
});

async function dial(path: string, protocol?: string): Promise<Conn> {
  const conn = await connect(server.url(path), { protocol });
  open.push(conn);
  return conn;
}

/** Deterministic bytes: sizes from empty to larger than one QMux record (16 KiB). */
function payload(group: number, frame: number): Uint8Array {
  const size = [0, 1, 7, 100, 1500, 16_383, 20_000, 3, 64, 255][frame % 10] + group;
  const out = new Uint8Array(size);
  let x = (group * 131 + frame * 7 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1_103_515_245 + 12_345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

test("a Node client negotiates moq-lite-05, sees the announcement and receives 5 groups × 10 frames intact and in order", async () => {
  const track = server.publish("demo", "video");
  const conn = await dial("anon");
  assert.equal(conn.version, "moq-lite-05");
  assert.equal(conn.transport, "websocket");
  assert.equal(server.subprotocols.at(-1), "qmux-02.moq-lite-05");
  await waitAnnounced(conn, "", "demo", 3000);

  const reader = subscribe(conn, "demo", "video");
  await track.waitSubscribed();
  const sent: Uint8Array[][] = [];
  for (let g = 0; g < 5; g++) {
    sent.push(Array.from({ length: 10 }, (_, f) => payload(g, f)));
    track.group(sent[g]);
  }
  // Written in one burst, so the newest may overtake older ones: readGroups sorts them.
  const got = await reader.readGroups(5, 3000);
  assert.deepEqual(got.map((g) => g.sequence), [0, 1, 2, 3, 4]);
  for (const { sequence: g, frames } of got) {
    assert.equal(frames.length, 10);
    frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(Buffer.from(sent[g][i])), `group ${g} frame ${i} differs`));
  }

  // Paced one at a time, nextGroup sees them strictly in sequence.
  for (let g = 5; g < 10; g++) {
    track.group([payload(g, 0), payload(g, 1)]);
    const next = await reader.nextGroup(3000);
    assert.equal(next.sequence, g);
    assert.ok(Buffer.from(next.frames[1]).equals(Buffer.from(payload(g, 1))));
  }
  reader.close();
});

test("pinning moq-lite-04 negotiates moq-lite-04 and still carries frames", async () => {
  const track = server.publish("old", "audio");
  const conn = await dial("anon", "moq-lite-04");
  assert.equal(conn.version, "moq-lite-04");
  assert.equal(server.subprotocols.at(-1), "qmux-02.moq-lite-04");
  await waitAnnounced(conn, "old");
  const reader = subscribe(conn, "old", "audio");
  await track.waitSubscribed();
  track.group(["over lite-04"]);
  assert.equal(Buffer.from((await reader.nextGroup()).frames[0]).toString(), "over lite-04");
});

test("a qmux-0X pair pins the QMux wire version as well as the protocol", async () => {
  const conn = await dial("anon", "qmux-00.moq-lite-05");
  assert.equal(conn.version, "moq-lite-05");
  assert.equal(server.subprotocols.at(-1), "qmux-00.moq-lite-05");
});

test("a Node publisher is announced to and consumed by the other side", async () => {
  const conn = await dial("anon/alice");
  const peer = await server.session("anon/alice");
  const p = publish(conn, "cam/1", "video");
  await waitAnnounced(peer, "cam", "1");
  const reader = subscribe(peer, "cam/1", "video");
  await p.waitSubscribed();
  p.group(["a", new Uint8Array([0, 255, 1])]);
  const got = await reader.nextGroup();
  assert.equal(got.sequence, 0);
  assert.deepEqual(got.frames.map((f) => [...f]), [[97], [0, 255, 1]]);

  // A chosen sequence leaves a gap the subscriber sees as such.
  p.group(["later"], { sequence: 5 });
  assert.equal((await reader.nextGroup()).sequence, 5);

  const watch = watchAnnounced(peer, "cam");
  await watch.waitFor("1");
  p.close();
  await watch.waitFor("1", false);
  watch.close();
});

test("nextFrame reads an open group as it grows, and a timed-out read loses nothing", async () => {
  const track = server.publish("live", "video");
  const conn = await dial("anon");
  await waitAnnounced(conn, "live");
  const reader = subscribe(conn, "live", "video");
  await track.waitSubscribed();
  const g = track.group(["f0", "f1"], { keepOpen: true });
  const f0 = await reader.nextFrame();
  const f1 = await reader.nextFrame();
  assert.deepEqual([f0.group, f0.index, f1.index], [0, 0, 1]);
  await assert.rejects(reader.nextGroup(150), /timed out after 150 ms waiting for a whole group of live\/video/);
  await assert.rejects(reader.nextFrame(150), /waiting for a frame of live\/video/);
  g.writeString("f2");
  g.close();
  const whole = await reader.nextGroup();
  assert.deepEqual(whole.frames.map((f) => Buffer.from(f).toString()), ["f0", "f1", "f2"]);
});

test("failures reject promptly with what went wrong", async () => {
  const conn = await dial("anon");
  await assert.rejects(waitAnnounced(conn, "", "nobody", 150), /timed out after 150 ms waiting for "nobody" under "" to be announced/);
  // The client's server half resets a subscription to a broadcast it does not have.
  const reader = subscribe(conn, "nobody", "video");
  await assert.rejects(reader.nextGroup(3000), /subscription to nobody\/video ended/);
  // A server that accepts only lite-05 refuses the upgrade for a client pinned to lite-03.
  const strict = await startReferenceServer(["moq-lite-05"]);
  try {
    await assert.rejects(connect(strict.url("anon"), { protocol: "moq-lite-03", timeoutMs: 3000 }), /connect to http:\/\/127\.0\.0\.1:\d+\/anon failed: WebSocket/);
    assert.deepEqual(await upgrade(strict.url("anon"), ["qmux-02.moq-lite-03"]), { status: 400, body: "" });
    assert.deepEqual(await upgrade(strict.url("anon")), { status: 101, protocol: "qmux-02.moq-lite-05" });
  } finally {
    await strict.close();
  }
  // Nothing listening: the connect is refused, not hung.
  await assert.rejects(connect(strict.url("anon"), { timeoutMs: 3000 }), /failed: WebSocket connection error/);
});
