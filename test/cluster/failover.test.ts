// Peer loss: SIGKILL the relay a publisher was on while the publisher moves to another relay; a
// viewer on a third relay resumes within 5 s on the subscription it already had (the relay moves
// the track's upstream to the new route underneath it).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { connect, publish, subscribe, watchAnnounced, type Conn } from "../util/moq.js";
import { configure, declare, drain, setup, until, type Node } from "./harness.js";

let nodes: Node[] = [];
const conns: Conn[] = [];

after(async () => {
  for (const c of conns) c.close();
  await Promise.all(nodes.map((n) => n.kill()));
});

test("relay A dies while the publisher moves to B: the viewer on C resumes within 5 s", async () => {
  const s = await setup();
  nodes = await declare(s, ["a", "b", "c"]);
  configure(nodes);
  await Promise.all(nodes.map((n) => n.start()));
  const [a, b, c] = nodes;
  await until(async () => (await c.nodes()).peers.filter((p) => p.state === "connected" || p.state === "standby").length === 2, 20_000, "C linked to A and B");
  const pubA = await connect(a.client());
  conns.push(pubA);
  const p1 = publish(pubA, "demo", "video");
  const view = await connect(c.client());
  conns.push(view);
  const ann = watchAnnounced(view, "");
  await ann.waitFor("demo", true, 10_000);
  const r1 = subscribe(view, "demo", "video");
  await p1.waitSubscribed(10_000);
  p1.group(["one"]);
  assert.equal(Buffer.from((await r1.nextGroup(10_000)).frames[0]).toString(), "one");

  await a.kill();
  const pubB = await connect(b.client());
  conns.push(pubB);
  const p2 = publish(pubB, "demo", "video");
  const moved = Date.now();
  // No resubscribe: C's track moves to the route through B and asks B's publisher.
  await p2.waitSubscribed(5000);
  p2.group(["two"]);
  const g = await r1.nextGroup(5000);
  assert.equal(Buffer.from(g.frames[0]).toString(), "two");
  assert.ok(Date.now() - moved < 5000, `resumed ${Date.now() - moved} ms after the publisher moved`);
  assert.deepEqual(await drain(ann), [{ path: "demo", active: true }], "the viewer never saw the broadcast end or restart");
  ann.close();
});
