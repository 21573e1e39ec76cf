// How relays dial each other, between real relay processes: `https://` nodes link over WebTransport
// (our HTTP/3 client on our QUIC engine), `moql://` nodes over raw QUIC, and each carries a
// broadcast byte-identical; /nodes names the transport and reports a finite RTT.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { connect, publish, subscribe, waitAnnounced, type Conn } from "../util/moq.js";
import { configure, declare, setup, until, type Node, type NodesDoc } from "./harness.js";

const started: Node[] = [];
const conns: Conn[] = [];

after(async () => {
  for (const c of conns) c.close();
  await Promise.all(started.map((n) => n.kill()));
});

async function open(url: string): Promise<Conn> {
  const c = await connect(url);
  conns.push(c);
  return c;
}

type PeerDoc = NodesDoc["peers"][number] & { transport: string | null; rtt_ms: number | null };

/** The kept link between two relays, as A's /nodes shows it (connected or standing by). */
async function linked(a: Node): Promise<PeerDoc> {
  let peer: PeerDoc | undefined;
  let doc: NodesDoc | undefined;
  await until(
    async () => {
      doc = await a.nodes();
      peer = (doc.peers as PeerDoc[]).find((p) => p.url !== null && (p.state === "connected" || p.state === "standby") && p.origin !== null && p.transport !== null);
      return peer !== undefined;
    },
    20_000,
    `${a.name} linked to its peer`,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n/nodes: ${JSON.stringify(doc)}\nlogs:\n${a.logs.slice(-3000)}`);
  });
  return peer!;
}

/** A publisher on `a`, a viewer on `b`: three groups arrive byte-identical. */
async function carries(a: Node, b: Node, name: string): Promise<void> {
  const pub = await open(a.client());
  const p = publish(pub, name, "video");
  const view = await open(b.client());
  // Subscribe once the broadcast reached b over the link (as a player following announcements does).
  await waitAnnounced(view, "", name, 15_000);
  const r = subscribe(view, name, "video");
  await p.waitSubscribed(15_000);
  await until(async () => (await b.nodes()).tracks.some((t) => t.broadcast === `anon/${name}`), 10_000, `${b.name} subscribed upstream`);
  const hex = (fs: Uint8Array[]): string[] => fs.map((f) => Buffer.from(f).toString("hex"));
  const payloads = Array.from({ length: 4 }, (_, i) => new Uint8Array(Array.from({ length: 1500 + 97 * i }, (_, j) => (i * 13 + j * 7) & 0xff)));
  for (const frames of [payloads, payloads.slice(1, 3), [new Uint8Array(0), payloads[0]]]) {
    p.group(frames);
    const g = await r.nextGroup(10_000);
    assert.deepEqual(hex(g.frames), hex(frames), `group ${g.sequence} byte-identical via ${b.name}`);
  }
}

test("https:// nodes link over WebTransport on our HTTP/3 client and carry a broadcast byte-identical", async () => {
  const s = await setup();
  const nodes = await declare(s, ["wa", "wb"]);
  configure(nodes);
  started.push(...nodes);
  // One after the other: a peer whose UDP port is not bound yet would be linked over the fallback.
  for (const n of nodes) await n.start();
  const [a, b] = nodes;
  for (const n of nodes) {
    const peer = await linked(n);
    assert.equal(peer.transport, "webtransport", `${n.name}: the link is WebTransport (${JSON.stringify(peer)})`);
  }
  // The outbound side's RTT comes from its QUIC connection's estimate.
  await until(async () => (await Promise.all(nodes.map(linked))).every((p) => typeof p.rtt_ms === "number"), 10_000, "an RTT on both ends");
  for (const n of nodes) {
    const rtt = (await linked(n)).rtt_ms;
    assert.ok(typeof rtt === "number" && Number.isFinite(rtt) && rtt >= 0 && rtt < 5000, `${n.name}: rtt_ms ${rtt} is a finite non-negative number`);
  }
  await carries(a, b, "wt-demo");
});

test("moql:// nodes link over raw QUIC between two relay processes and carry a broadcast byte-identical", async () => {
  const s = await setup();
  const nodes = await declare(s, ["qa", "qb"]);
  const moql = (n: Node): string => `moql://127.0.0.1:${n.port}`;
  // Each lists the other by moql://; `node` stays the https URL the harness sets, so list both forms of itself.
  configure(nodes, (n) => ({ nodes: nodes.filter((x) => x !== n).map(moql) }));
  started.push(...nodes);
  await Promise.all(nodes.map((n) => n.start()));
  const [a, b] = nodes;
  for (const n of nodes) {
    const peer = await linked(n);
    assert.equal(peer.transport, "quic", `${n.name}: the link is raw QUIC (${JSON.stringify(peer)})`);
  }
  await until(async () => (await Promise.all(nodes.map(linked))).every((p) => typeof p.rtt_ms === "number"), 10_000, "an RTT on both ends");
  await carries(a, b, "quic-demo");
});
