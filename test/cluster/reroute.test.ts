// Seamless route switch: C is served A's broadcast over its direct link to A (through a TCP proxy
// the test controls), with a second route through B. Cut the direct link: C moves the track's one
// upstream to the route through B; restore it: C moves back to the better direct route. The
// viewer on C keeps its one subscription throughout and never gets a group or frame twice.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect as tcpConnect, type Server, type Socket } from "node:net";
import { connect, publish, watchAnnounced, writeFrames, type Conn } from "../util/moq.js";
import { freePort } from "../util/child-relay.js";
import { FrameLog } from "./frames.js";
import { configure, declare, drain, setup, until, type Node, type NodesDoc } from "./harness.js";

/** A TCP forwarder whose connections the test can cut (as a failing network path would). */
class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((down) => {
      const up = tcpConnect(this.target, "127.0.0.1");
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      down.pipe(up).pipe(down);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  /** Drop every connection and refuse new ones until open() again. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server !== undefined) await new Promise((r) => server.close(r));
  }
}

let nodes: Node[] = [];
const conns: Conn[] = [];
let proxy: Proxy | undefined;

after(async () => {
  for (const c of conns) c.close();
  await proxy?.cut();
  await Promise.all(nodes.map((n) => n.kill()));
});

const upstreams = (d: NodesDoc): number => d.peers.reduce((sum, p) => sum + p.upstream_subscriptions, 0);
const via = (d: NodesDoc): string | null | undefined => d.tracks.find((t) => t.broadcast === "anon/demo" && t.track === "video")?.via;

test("a lost route and a better route switch C's upstream under the viewer's subscription", async (t) => {
  const s = await setup();
  nodes = await declare(s, ["a", "b", "c"]);
  const [a, b, c] = nodes;
  proxy = new Proxy(await freePort(), a.port);
  await proxy.open();
  // A dials B, B dials C, C dials A through the proxy: every pair linked, C–A cuttable.
  configure(nodes, (n) => ({ nodes: n === a ? [b.url] : n === b ? [c.url] : [`https://127.0.0.1:${proxy?.port}`] }));
  await Promise.all(nodes.map((n) => n.start()));
  const linked = async (n: Node): Promise<boolean> => (await n.nodes()).peers.filter((p) => p.state === "connected").length === 2;
  await until(async () => (await linked(a)) && (await linked(b)) && (await linked(c)), 20_000, "every pair linked");
  const aOrigin = (await a.nodes()).origin;
  const bOrigin = (await b.nodes()).origin;

  const pubConn = await connect(a.client());
  conns.push(pubConn);
  const pub = publish(pubConn, "demo", "video");
  let n = 0;
  let group = pub.track.appendGroup();
  const writer = setInterval(() => {
    if (n > 0 && n % 15 === 0) {
      group.close();
      group = pub.track.appendGroup();
    }
    writeFrames(group, [`a:${n}:${Date.now()}`]);
    n++;
  }, 20);
  t.after(() => clearInterval(writer));

  const view = await connect(c.client());
  conns.push(view);
  const ann = watchAnnounced(view, "");
  await ann.waitFor("demo", true, 10_000);
  const log = new FrameLog(view, "demo", "video");
  await log.until((l) => l.frames.length >= 20, 10_000, "frames on C");
  await until(async () => via(await c.nodes()) === aOrigin, 10_000, "C served over its direct link to A");
  assert.equal(upstreams(await c.nodes()), 1);

  // Route lost: the direct link dies; the route through B takes over at once.
  await proxy.cut();
  const cut = Date.now();
  const before = log.frames.length;
  await until(async () => via(await c.nodes()) === bOrigin, 10_000, "C served through B");
  await log.until((l) => l.frames.length >= before + 20, 10_000, "frames through B");
  const gap1 = gapAfter(log, cut);
  assert.equal(upstreams(await c.nodes()), 1, "one upstream for the track on C");

  // A better route appears: C redials A (backoff) and moves back to the direct link.
  await proxy.open();
  const restored = Date.now();
  await until(async () => via(await c.nodes()) === aOrigin, 20_000, "C back on its direct link");
  const back = log.frames.length;
  await log.until((l) => l.frames.length >= back + 20, 10_000, "frames over the direct link again");
  const gap2 = gapAfter(log, restored);
  t.diagnostic(`gaps ${gap1} ms (route lost), ${gap2} ms (better route); groups ${log.groups.join(",")}`);
  assert.equal(upstreams(await c.nodes()), 1, "one upstream for the track on C");

  assert.equal(log.ended, undefined, "the viewer's subscription never ended");
  assert.equal(new Set(log.groups).size, log.groups.length, `a group delivered twice: ${log.groups.join(",")}`);
  const ns = log.frames.map((f) => f.n);
  assert.equal(new Set(ns).size, ns.length, "a frame delivered twice");
  for (let i = 1; i < log.groups.length; i++) assert.ok(log.groups[i] > log.groups[i - 1], `group numbers went back: ${log.groups.join(",")}`);
  assert.ok(gap1 < 2000 && gap2 < 2000, `gaps ${gap1} / ${gap2} ms`);
  assert.deepEqual(await drain(ann), [{ path: "demo", active: true }], "the viewer never saw the broadcast end or restart");
  log.close();
  ann.close();
});

/** The longest pause between frames arriving after `since`. */
function gapAfter(log: FrameLog, since: number): number {
  const times = log.frames.map((f) => f.at).filter((at) => at >= since - 1000);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap;
}
