// Three real relay processes in a full mesh: a publisher on A, viewers on B and C receive every
// frame byte-identical, each relay holds exactly one upstream subscription per track, and the
// links are deduplicated to one per pair of relays.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, publish, subscribe, watchAnnounced, type Conn } from "../util/moq.js";
import { configure, declare, setup, until, type Node } from "./harness.js";

let nodes: Node[] = [];
const conns: Conn[] = [];

before(async () => {
  const s = await setup();
  nodes = await declare(s, ["a", "b", "c"]);
  configure(nodes);
  await Promise.all(nodes.map((n) => n.start()));
});

after(async () => {
  for (const c of conns) c.close();
  await Promise.all(nodes.map((n) => n.kill()));
});

async function open(url: string): Promise<Conn> {
  const c = await connect(url);
  conns.push(c);
  return c;
}

test("every relay links to every other once, and /nodes names each peer's origin", async () => {
  await until(
    async () => {
      const docs = await Promise.all(nodes.map((n) => n.nodes()));
      // Each relay sees the two others connected, one link each way is dropped as a duplicate.
      return docs.every((d) => d.peers.filter((p) => p.state === "connected" || p.state === "standby").length === 2 && d.peers.every((p) => p.origin !== null));
    },
    15_000,
    "a full mesh of links",
  );
  const docs = await Promise.all(nodes.map((n) => n.nodes()));
  const origins = docs.map((d) => d.origin);
  assert.equal(new Set(origins).size, 3, "distinct origin ids");
  for (const [i, d] of docs.entries()) {
    const seen = d.peers.map((p) => p.origin).sort();
    assert.deepEqual(seen, origins.filter((_, j) => j !== i).sort(), `${nodes[i].name} knows the others' origins`);
  }
});

test("a publisher on A reaches viewers on B and C byte-identical, through one upstream per track", async () => {
  const [a, b, c] = nodes;
  const pub = await open(a.client());
  const p = publish(pub, "demo", "video");
  const viewB = await open(b.client());
  const viewC = await open(c.client());
  // C follows announcements as a player does.
  const ann = watchAnnounced(viewC, "");
  await ann.waitFor("demo", true, 10_000);
  const rb = subscribe(viewB, "demo", "video");
  const rc = subscribe(viewC, "demo", "video");
  await p.waitSubscribed(10_000);
  const payloads = Array.from({ length: 5 }, (_, i) => new Uint8Array(Array.from({ length: 1000 + i }, (_, j) => (i * 31 + j) & 0xff)));
  // Give both viewers' subscriptions time to reach A before the frames go out.
  await until(async () => (await b.nodes()).tracks.some((t) => t.broadcast === "anon/demo") && (await c.nodes()).tracks.some((t) => t.broadcast === "anon/demo"), 10_000, "B and C subscribed upstream");
  const hex = (fs: Uint8Array[]): string[] => fs.map((f) => Buffer.from(f).toString("hex"));
  for (const frames of [payloads, payloads.slice(0, 2), payloads.slice(3)]) {
    p.group(frames);
    for (const [name, r] of [["B", rb], ["C", rc]] as const) {
      const g = await r.nextGroup(10_000);
      assert.deepEqual(hex(g.frames), hex(frames), `${name}: group ${g.sequence} byte-identical`);
    }
  }
  for (const n of nodes) {
    const d = await n.nodes();
    const t = d.tracks.filter((x) => x.broadcast === "anon/demo" && x.track === "video");
    if (n === a) continue;
    assert.equal(t.length, 1, `${n.name}: one upstream subscription for the track`);
  }
  // A serves one subscription per peer link that wants the track, however many viewers there are.
  const served = (await a.nodes()).peers.map((x) => x.served_subscriptions);
  assert.ok(served.every((x) => x <= 1), `A serves at most one subscription per link: ${JSON.stringify(served)}`);
  assert.ok(served.reduce((x, y) => x + y, 0) >= 1);
  ann.close();
  p.close();
});

test("a burst of groups published at once reaches viewers on B and C whole (a relay upstream opens the burst's streams newest first)", async () => {
  const [a, b, c] = nodes;
  const pub = await open(a.client());
  const p = publish(pub, "burst", "video");
  const viewB = await open(b.client());
  const viewC = await open(c.client());
  const ann = watchAnnounced(viewC, "");
  await ann.waitFor("burst", true, 10_000);
  // A long window: the relay's latency budget is not this test's subject, the start is.
  const readers = [subscribe(viewB, "burst", "video", { latencyMax: 60_000 }), subscribe(viewC, "burst", "video", { latencyMax: 60_000 })];
  await p.waitSubscribed(10_000);
  // Both subscriptions at A before the burst: B's and C's /nodes show theirs once sent, and the
  // publisher is asked on the first to arrive, so the second could still be on its way and would
  // join at the newest cached group. A counts the viewers of its local track: one per peer link.
  await until(async () => ((await a.nodes()).tracks.find((t) => t.broadcast === "anon/burst" && t.track === "video")?.viewers ?? 0) >= 2, 10_000, "B's and C's subscriptions at A");
  for (let g = 0; g < 4; g++) p.group([`burst g${g} a`, `burst g${g} b`]);
  for (const [i, r] of readers.entries()) {
    const got = (await r.readGroups(4, 10_000)).sort((x, y) => x.sequence - y.sequence);
    assert.deepEqual(
      got.map((g) => [g.sequence, g.frames.map((f) => Buffer.from(f).toString())]),
      [0, 1, 2, 3].map((g) => [g, [`burst g${g} a`, `burst g${g} b`]]),
      `${i === 0 ? "B" : "C"} got the whole burst`,
    );
  }
  ann.close();
  p.close();
});
