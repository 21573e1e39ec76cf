// When an https:// peer's UDP port is not served, the dial falls back to QMux over WebSocket (wss)
// and says so once; a peer whose certificate does not verify is never linked, over either path.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, publish, subscribe, waitAnnounced, type Conn } from "../util/moq.js";
import { configure, declare, pki, setup, until, type Node, type NodesDoc } from "./harness.js";

const started: Node[] = [];
const conns: Conn[] = [];

after(async () => {
  for (const c of conns) c.close();
  await Promise.all(started.map((n) => n.kill()));
});

type PeerDoc = NodesDoc["peers"][number] & { url: string | null; transport: string | null; rtt_ms: number | null };

async function peersOf(n: Node): Promise<PeerDoc[]> {
  return (await n.nodes()).peers as PeerDoc[];
}

/** Start b, then a (which dials b), and wait for a's link to b. */
async function startLinked(a: Node, b: Node): Promise<PeerDoc> {
  started.push(a, b);
  await b.start();
  await a.start();
  let peer: PeerDoc | undefined;
  await until(
    async () => {
      peer = (await peersOf(a)).find((p) => p.url !== null && p.state === "connected");
      return peer !== undefined;
    },
    30_000,
    `${a.name} linked to ${b.name}`,
  );
  return peer!;
}

test("a peer with UDP off is linked over wss (fallback logged once, RTT from WebSocket ping/pong), and over WebTransport once its UDP is back", async () => {
  const s = await setup();
  const [a, b] = await declare(s, ["fa", "fb"]);
  // b serves TCP only and dials nobody: a's WebTransport attempt gets no answer on UDP.
  configure([a, b], (n) => (n === b ? { nodes: [b.url], server: "udp = false" } : { nodes: [b.url] }));
  const peer = await startLinked(a, b);
  assert.equal(peer.transport, "websocket", `linked over the fallback: ${JSON.stringify(peer)}`);
  await until(async () => typeof (await peersOf(a)).find((p) => p.url !== null)?.rtt_ms === "number", 10_000, "an RTT on the wss link");
  const rtt = (await peersOf(a)).find((p) => p.url !== null)!.rtt_ms;
  assert.ok(typeof rtt === "number" && Number.isFinite(rtt) && rtt >= 0 && rtt < 5000, `rtt_ms ${rtt} is a finite non-negative number`);
  const fell = a.logged(/WebTransport dial to cluster peer failed/);
  assert.equal(fell.length, 1, "the fallback is logged once");
  assert.match(String(fell[0].err), /timed out/, "because UDP got no answer");

  // The link carries a broadcast.
  const pub = await connect(a.client());
  conns.push(pub);
  const p = publish(pub, "fallback-demo", "video");
  const view = await connect(b.client());
  conns.push(view);
  await waitAnnounced(view, "", "fallback-demo", 15_000);
  const r = subscribe(view, "fallback-demo", "video");
  await p.waitSubscribed(15_000);
  const frames = [new Uint8Array(Array.from({ length: 3000 }, (_, i) => (i * 11) & 0xff)), new Uint8Array([1, 2, 3])];
  p.group(frames);
  const g = await r.nextGroup(10_000);
  assert.deepEqual(
    g.frames.map((f) => Buffer.from(f).toString("hex")),
    frames.map((f) => Buffer.from(f).toString("hex")),
  );

  // b comes back with UDP: a's redial links over WebTransport, and says so once.
  for (const c of conns.splice(0)) c.close();
  await b.kill();
  configure([a, b], () => ({ nodes: [b.url] }));
  await b.start();
  await until(async () => (await peersOf(a)).some((p) => p.url !== null && p.state === "connected" && p.transport === "webtransport"), 30_000, "a relinked to b over WebTransport");
  assert.equal(a.logged(/reachable over WebTransport again/).length, 1, "the return to WebTransport is logged once");
  assert.equal(a.logged(/WebTransport dial to cluster peer failed/).length, 1, "and the fallback was not logged again");
});

test("a peer certificate from another CA fails the dial on QUIC and is not retried over wss", async () => {
  const s = await setup();
  const other = await pki();
  writeFileSync(s.file("other-ca.pem"), other.caPem);
  const [a, b] = await declare(s, ["ca", "cb"]);
  const https = b.url;
  const moql = `moql://127.0.0.1:${b.port}`;
  // a trusts only a CA that did not sign b's certificate; b dials nobody.
  configure([a, b], (n) => (n === a ? { nodes: [https, moql], cluster: `tls_root = "${s.file("other-ca.pem")}"` } : { nodes: [b.url] }));
  started.push(a, b);
  await b.start();
  await a.start();
  await until(async () => (await peersOf(a)).every((p) => p.attempts >= 2), 30_000, "a to have dialed b twice over each scheme");
  for (const p of await peersOf(a)) {
    assert.notEqual(p.state, "connected", `${p.url} never links`);
    assert.match(p.last_error ?? "", /peer certificate refused/, `${p.url} failed on QUIC certificate verification: ${p.last_error}`);
  }
  assert.equal(a.logged(/WebTransport dial to cluster peer failed/).length, 0, "no fallback to wss");
  assert.equal((await b.nodes()).peers.length, 0, "b never saw a link from a");
});

test("insecure = true links a peer whose certificate does not verify, warning at every dial", async () => {
  const s = await setup();
  const other = await pki();
  writeFileSync(s.file("other-ca.pem"), other.caPem);
  const [a, b] = await declare(s, ["ia", "ib"]);
  configure([a, b], (n) => (n === a ? { nodes: [b.url], cluster: `tls_root = "${s.file("other-ca.pem")}"\ninsecure = true` } : { nodes: [b.url] }));
  const peer = await startLinked(a, b);
  assert.equal(peer.transport, "webtransport", `the unverified link is still WebTransport: ${JSON.stringify(peer)}`);
  const warned = a.logged(/without verifying its certificate/).length;
  assert.ok(warned >= peer.attempts + 1, `warned at each of the ${peer.attempts + 1} dials (${warned} warnings)`);
});

test("a pinned fingerprint replaces chain verification on QUIC: the right pin links over WebTransport, a wrong one fails", async () => {
  const s = await setup();
  const other = await pki();
  writeFileSync(s.file("other-ca.pem"), other.caPem);
  const [a, b] = await declare(s, ["pa", "pb"]);
  const pin = new X509Certificate(readFileSync(s.file("cert.pem"))).fingerprint256.replace(/:/g, "").toLowerCase();
  const wrong = pin.replace(/^./, (c) => (c === "0" ? "1" : "0"));
  // a trusts a CA that did not sign b's certificate: only the pins decide.
  const nodes = [`${b.url}/?fingerprint=sha256:${pin}`, `moql://127.0.0.1:${b.port}?fingerprint=sha256:${wrong}`];
  configure([a, b], (n) => (n === a ? { nodes, cluster: `tls_root = "${s.file("other-ca.pem")}"` } : { nodes: [b.url] }));
  const peer = await startLinked(a, b);
  assert.equal(peer.transport, "webtransport", `the pinned https:// peer links over WebTransport: ${JSON.stringify(peer)}`);
  await until(async () => ((await peersOf(a)).find((p) => p.url?.startsWith("moql:"))?.attempts ?? 0) >= 2, 20_000, "the wrongly pinned moql:// peer to fail twice");
  const bad = (await peersOf(a)).find((p) => p.url?.startsWith("moql:"));
  assert.notEqual(bad?.state, "connected");
  assert.match(bad?.last_error ?? "", /peer certificate refused: .*pinned fingerprint/, `refused for its pin: ${bad?.last_error}`);
});
