// Restart a relay in the middle of a chain: A – B – C, the broadcast published on A reaches C only
// through B. SIGKILL B and start it again on the same port: A and C redial it with backoff (one
// warning per outage, not one per retry), the links come back up in /nodes, announcements
// converge, and a viewer on C gets A's broadcast through B again.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { connect, watchAnnounced, type Conn } from "../util/moq.js";
import { FrameLog, spawnPublisher, type ChildPublisher } from "./frames.js";
import { configure, declare, setup, until, type Node, type NodesDoc } from "./harness.js";

let nodes: Node[] = [];
const conns: Conn[] = [];
let pub: ChildPublisher | undefined;

after(async () => {
  for (const c of conns) c.close();
  await pub?.kill();
  await Promise.all(nodes.map((n) => n.kill()));
});

test("relay B restarts: A and C reconnect with backoff and C is served A's broadcast through B again", async (t) => {
  const s = await setup();
  nodes = await declare(s, ["a", "b", "c"]);
  const [a, b, c] = nodes;
  // No A–C link: everything between them goes through B.
  configure(nodes, (n) => ({ nodes: n === b ? [a.url, c.url] : [b.url], linger: "1s" }));
  await Promise.all(nodes.map((n) => n.start()));
  const up = async (n: Node, count: number): Promise<boolean> => (await n.nodes()).peers.filter((p) => p.state === "connected" || p.state === "standby").length === count;
  await until(async () => (await up(a, 1)) && (await up(c, 1)) && (await up(b, 2)), 20_000, "the chain linked");
  pub = await spawnPublisher(a.client(), "demo", "a");
  const view = await connect(c.client());
  conns.push(view);
  const ann = watchAnnounced(view, "");
  await ann.waitFor("demo", true, 10_000);
  const before = new FrameLog(view, "demo", "video");
  await before.until((l) => l.frames.length >= 10, 10_000, "frames on C through B");

  await b.kill();
  const killed = Date.now();
  // With B gone, C has no route left: after the linger it is withdrawn.
  await ann.waitFor("demo", false, 10_000);
  // Each is polled on its own: a peer alternates between backoff and a dial attempt, so both
  // need not be in backoff at the same instant.
  await until(async () => (await a.nodes()).peers[0]?.state === "backoff", 15_000, "A backing off");
  await until(async () => (await c.nodes()).peers[0]?.state === "backoff", 15_000, "C backing off");
  // Let a few redials fail, then bring B back on the same port.
  await until(async () => (await a.nodes()).peers[0]?.attempts >= 2, 15_000, "A to retry");
  await b.start();
  const restarted = Date.now();
  await until(async () => (await up(a, 1)) && (await up(c, 1)) && (await up(b, 2)), 20_000, "the chain linked again");
  t.diagnostic(`relinked ${Date.now() - restarted} ms after B restarted (${restarted - killed} ms after the kill)`);

  // Announcements converge: C hears of demo again (and only through B), A hears nothing back.
  await ann.waitFor("demo", true, 10_000);
  const after = new FrameLog(view, "demo", "video");
  await after.until((l) => l.frames.length >= 10, 10_000, "frames on C through B again");
  assert.ok(after.frames.every((f) => f.id === "a"));
  const sum = (d: NodesDoc, k: "routes" | "upstream_subscriptions"): number => d.peers.reduce((n, p) => n + p[k], 0);
  // B and C dial each other; when one of the two links is dropped as the duplicate, the routes
  // learned on it linger (1 s here) beside the kept link's, so C may count two routes through B
  // for a moment. Wait out the linger before asserting the steady state.
  await until(async () => sum(await c.nodes(), "routes") === 1, 5_000, "C's duplicate-link routes to expire");
  const docA = await a.nodes();
  const docC = await c.nodes();
  assert.equal(sum(docA, "routes"), 0, `B announced A's broadcast back to A: ${JSON.stringify(docA.peers)}`);
  assert.equal(sum(docC, "routes"), 1, `C knows demo through B: ${JSON.stringify(docC.peers)}`);
  assert.equal(docC.tracks.filter((x) => x.broadcast === "anon/demo").length, 1);
  assert.equal(sum(docC, "upstream_subscriptions"), 1);
  // Backoff: one warning for the outage on each side, the retries after it at debug.
  for (const n of [a, c]) {
    const warned = n.logged(/cluster peer unreachable; will retry/);
    assert.equal(warned.length, 1, `${n.name} warned ${warned.length} times`);
    assert.ok(n.logged(/cluster peer link lost/).length >= 1);
  }
  before.close();
  after.close();
  ann.close();
});
