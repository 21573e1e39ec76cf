// Peer trust: a relay that dials in as a cluster peer must present a token with the cluster claim.
// A real relay dialing with a valid non-cluster token or an expired one, a client dialing as a
// peer with no token, and a session relaying other relays' announcements (a hop chain) without
// the claim are each refused with a logged reason; ordinary clients are unaffected, and an
// ordinary root-"" token cannot publish the reserved `.internal/` namespace.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.js";
import { Origin } from "../../src/relay/origin.js";
import { Code } from "../../src/session/error.js";
import { LiteSession, PEER_PARAM } from "../../src/session/lite/session.js";
import { dialWebSocket } from "../../src/transport/websocket/client.js";
import { silentLogger } from "../../src/util/log.js";
import { connect, publish, waitAnnounced, type Conn } from "../util/moq.js";
import { ManualSource } from "../relay/helpers.js";
import { configure, declare, setup, until, type Node } from "./harness.js";

let nodes: Node[] = [];
const conns: Conn[] = [];

after(async () => {
  for (const c of conns) c.close();
  await Promise.all(nodes.map((n) => n.kill()));
});

test("peers without the cluster claim are refused with a reason; ordinary clients are not", async () => {
  const s = await setup();
  nodes = await declare(s, ["a", "b", "plain", "expired"]);
  const [a, b, plain, expired] = nodes;
  const plainJwt = await s.token({});
  const expiredJwt = await s.token({ cluster: true, exp: Math.floor(Date.now() / 1000) - 60 });
  // a and b are a proper cluster; the other two list a with a bad inline token of their own.
  configure(nodes, (n) =>
    n === a ? { nodes: [b.url] } : n === b ? { nodes: [a.url] } : { nodes: [`${a.url}/?jwt=${n === plain ? plainJwt : expiredJwt}`] },
  );
  await Promise.all(nodes.map((n) => n.start()));
  await until(async () => (await a.nodes()).peers.some((p) => p.state === "connected" || p.state === "standby"), 20_000, "a and b linked");

  // A relay with a valid but non-cluster token: refused as a peer, and it knows why.
  await until(() => a.logged(/cluster peer refused/).some((l) => l.reason === "not-a-cluster-token"), 20_000, "a to refuse the non-cluster relay");
  await until(async () => (await plain.nodes()).peers[0]?.last_error?.includes("not a cluster peer") === true, 20_000, "the non-cluster relay to hear why");
  // An expired token never becomes a session: refused at the door with its reason.
  await until(() => a.logged(/session unauthorized/).some((l) => /expired/i.test(String(l.reason))), 30_000, "a to refuse the expired token");
  await until(async () => (await expired.nodes()).peers[0]?.state === "backoff", 20_000, "the expired relay backing off");
  // Neither is a link on a: only b is.
  const doc = await a.nodes();
  assert.equal(doc.peers.filter((p) => p.origin !== null).length, 1, JSON.stringify(doc.peers));

  // A client dialing as a peer with no token at all.
  const bare = await connect(`http://127.0.0.1:${a.port}/anon?${PEER_PARAM}=1`).catch(() => undefined);
  if (bare !== undefined) {
    conns.push(bare);
    await Promise.race([bare.closed.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  }
  await until(() => a.logged(/cluster peer refused|session unauthorized/).some((l) => l.reason === "missing-token" || l.reason === "expected-token"), 5000, "a to refuse the tokenless peer");

  // A session relaying other relays' broadcasts (hop chain) without the claim.
  const { config } = loadConfig({ env: {}, flags: {} });
  const mine = new Origin(config);
  mine.route("relayed", new ManualSource(), [111n, 222n], { cost: 2, via: 222n });
  // Bounded retries: a dial that fails for a transport reason says nothing about the refusal.
  let info: { code: number; reason: string } | undefined;
  for (let attempt = 0; attempt < 3 && info?.code !== Code.Unauthorized; attempt++) {
    const transport = await dialWebSocket({
      url: new URL(`ws://127.0.0.1:${a.port}/?jwt=${plainJwt}`),
      protocols: ["moq-lite-05"],
      timeoutMs: 5000,
      pingInterval: 0,
      streamWindow: 1 << 20,
      connectionWindow: 1 << 22,
      maxStreams: 100,
    });
    const relaying = new LiteSession(transport, { origin: mine, grant: { root: "", publish: [""], subscribe: [""] }, config, hopId: 333n, log: silentLogger(), dial: { path: "/" } });
    info = await Promise.race([relaying.run(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    relaying.close(0, "done");
  }
  assert.equal(info?.code, Code.Unauthorized, `the relaying session is closed as unauthorized: ${JSON.stringify(info)}`);
  await until(() => a.logged(/cluster peer refused/).some((l) => l.how === "relayed announcement (hop chain)"), 5000, "a to log the relaying session's refusal");
  mine.close();

  // Ordinary clients: a plain root-"" token publishes and watches as before, but not `.internal/`.
  const user = await connect(`http://127.0.0.1:${a.port}/?jwt=${plainJwt}`);
  conns.push(user);
  // The forged one first: by the time ok/cam is seen, a has dealt with it.
  publish(user, ".internal/origins/forged", "x");
  publish(user, "ok/cam", "video");
  const viewer = await connect(c(b, plainJwt));
  conns.push(viewer);
  await waitAnnounced(viewer, "ok/cam");
  const listed = async (n: Node): Promise<string[]> => (await (await fetch(c(n, plainJwt, "announced"))).json()) as string[];
  assert.ok((await listed(a)).includes("ok/cam"));
  assert.ok(!(await listed(a)).includes(".internal/origins/forged"), "an ordinary token published .internal/ on a");
  assert.ok(!(await listed(b)).includes(".internal/origins/forged"), "an ordinary token's .internal/ broadcast reached b");
  await until(() => a.logged(/publish refused/).some((l) => l.reason === "not-permitted"), 5000, "a to log the refused .internal/ publish");
});

function c(n: Node, jwt: string, path = ""): string {
  return `http://127.0.0.1:${n.port}/${path}?jwt=${jwt}`;
}
