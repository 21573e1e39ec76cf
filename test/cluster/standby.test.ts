// Redundant ingest: the same broadcast published on two relays (a primary and a standby encoder,
// each its own process) is one broadcast to a viewer on a third relay. SIGKILL the publisher the
// viewer is being served from: the viewer's one subscription carries on with the standby's frames
// after a gap of at most 2 s, never resubscribing, never seeing a group twice or a number go back.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { connect, watchAnnounced, type Conn } from "../util/moq.js";
import { FrameLog, spawnPublisher, type ChildPublisher } from "./frames.js";
import { configure, declare, drain, setup, until, type Node } from "./harness.js";

let nodes: Node[] = [];
const conns: Conn[] = [];
const pubs: ChildPublisher[] = [];

after(async () => {
  for (const c of conns) c.close();
  await Promise.all(pubs.map((p) => p.kill()));
  await Promise.all(nodes.map((n) => n.kill()));
});

test("standby: killing the serving publisher costs viewers on another relay at most 2 s, on the same subscription", async (t) => {
  const s = await setup();
  nodes = await declare(s, ["x", "y", "c"]);
  configure(nodes);
  await Promise.all(nodes.map((n) => n.start()));
  const [x, y, c] = nodes;
  // Every configured peer linked or standing by (not an inbound link beside a dial still in
  // backoff): no redial is pending whose duplicate link, once dropped, would leave its routes
  // lingering while the viewer's route is chosen.
  const linked = async (n: Node): Promise<boolean> => (await n.nodes()).peers.filter((p) => p.url !== null && (p.state === "connected" || p.state === "standby")).length === 2;
  await until(async () => (await linked(x)) && (await linked(y)) && (await linked(c)), 20_000, "a full mesh");
  pubs.push(await spawnPublisher(x.client(), "live", "x"), await spawnPublisher(y.client(), "live", "y"));

  const view = await connect(c.client());
  conns.push(view);
  const ann = watchAnnounced(view, "");
  await ann.waitFor("live", true, 10_000);
  // "publishing" is printed before the relay has the announcement: the second route may reach C
  // after the viewer subscribed, and if it ranks first (lower origin id) C moves the track to it,
  // so a few frames of each would arrive. Subscribe once C has both routes, as in steady state.
  await until(async () => (await c.nodes()).peers.filter((p) => p.url !== null && p.broadcasts >= 1).length === 2, 10_000, "C to hear of the broadcast from both X and Y");
  const log = new FrameLog(view, "live", "video");
  await log.until((l) => l.frames.length >= 30, 10_000, "30 frames on C");
  // Whichever publisher C is served from is the primary ("A's publisher"); the other is the standby.
  const primary = log.frames.at(-1)?.id ?? "";
  const standby = primary === "x" ? "y" : "x";
  assert.ok(log.frames.every((f) => f.id === primary), "one route serves C at a time");
  const doc = await c.nodes();
  assert.equal(doc.tracks.filter((t) => t.broadcast === "anon/live" && t.track === "video").length, 1);
  assert.equal(doc.peers.reduce((sum, p) => sum + p.upstream_subscriptions, 0), 1, "one upstream subscription for the track on C");

  await pubs[primary === "x" ? 0 : 1].kill();
  const killed = Date.now();
  await log.until((l) => l.from(standby).length >= 30, 10_000, "30 frames from the standby on the same subscription");

  const last = log.from(primary).at(-1);
  const first = log.from(standby)[0];
  assert.ok(last !== undefined && first !== undefined);
  const gap = first.at - last.at;
  t.diagnostic(`gap ${gap} ms; groups ${log.groups.join(",")}`);
  assert.ok(gap <= 2000, `viewers missed ${gap} ms of frames (last primary frame ${last.at - killed} ms after the kill)`);
  assert.equal(log.ended, undefined, "the subscription never ended");
  // Groups: never one twice, never a number going back when the standby took over.
  assert.equal(new Set(log.groups).size, log.groups.length, `a group delivered twice: ${log.groups.join(",")}`);
  const primaryGroups = log.from(primary).map((f) => f.group);
  const standbyGroups = log.from(standby).map((f) => f.group);
  assert.ok(Math.min(...standbyGroups) > Math.max(...primaryGroups), "the standby's groups follow the primary's");
  // Frames within the standby's stream arrive in order, none twice.
  const ns = log.from(standby).map((f) => f.n);
  assert.equal(new Set(ns).size, ns.length, "a standby frame twice");
  assert.deepEqual(await drain(ann), [{ path: "live", active: true }], "the viewer never saw the broadcast end or restart");
  const after = await c.nodes();
  assert.equal(after.peers.reduce((sum, p) => sum + p.upstream_subscriptions, 0), 1, "still one upstream subscription on C");
  log.close();
  ann.close();
});
