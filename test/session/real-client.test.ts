// The moq-lite session behind the real QMux-over-WebSocket transport, driven by the real @moq/net
// client: what a Node app using the published client gets from this relay.
import "../util/polyfill.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as Moq from "@moq/net";
import { Origin } from "../../src/relay/origin.js";
import { runLiteSession } from "../../src/session/lite/session.js";
import { TcpListener } from "../../src/transport/tcp.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { WebSocketAcceptor } from "../../src/transport/websocket/server.js";
import { silentLogger } from "../../src/util/log.js";
import { connect, publish, subscribe, waitAnnounced, type Conn } from "../util/moq.js";
import { LIMITS } from "./harness.js";

const log = silentLogger();
let origin: Origin;
let tcp: TcpListener;
let acceptor: WebSocketAcceptor<string>;
let base: string;
const conns: Conn[] = [];

before(async () => {
  origin = new Origin({ cache: { max_bytes: 64 << 20, max_age: 30_000, linger: 100 }, limits: LIMITS });
  const certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
  tcp = await TcpListener.listen({ host: "127.0.0.1", port: 0, certs, log, maxConnections: 100 });
  acceptor = new WebSocketAcceptor<string>({
    versions: ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"],
    pingInterval: 5000,
    log,
    streamWindow: 1 << 20,
    connectionWindow: 4 << 20,
    maxStreams: 1000,
    authorize: async (info) => ({ ok: true, value: info.url.pathname }),
    onSession: (session, path) => {
      void runLiteSession(session, {
        grant: { root: path.slice(1), publish: [""], subscribe: [""] },
        origin,
        config: { limits: LIMITS, server: { versions: ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"] } },
        log,
        hopId: 0x7e1a7n,
      });
    },
  });
  tcp.http.on("upgrade", acceptor.handleUpgrade);
  base = `http://127.0.0.1:${tcp.port}`;
});

after(async () => {
  for (const c of conns) c.close();
  acceptor.close();
  await tcp.close(100);
  origin.close();
});

async function dial(path: string, protocol?: string): Promise<Conn> {
  const c = await connect(`${base}/${path}`, { protocol });
  conns.push(c);
  return c;
}

for (const protocol of [undefined, "moq-lite-04", "moq-lite-03", "moql"]) {
  test(`@moq/net (${protocol ?? "default moq-lite-05"}) publishes and views through the relay, byte for byte`, async () => {
    const pub = await dial("anon", protocol);
    const viewer = await dial("anon", protocol);
    const path = `room/${protocol ?? "default"}`;
    const p = publish(pub, path, "video");
    await waitAnnounced(viewer, path);
    const r = subscribe(viewer, path, "video");
    await p.waitSubscribed();
    const frames = [randomBytes(100), randomBytes(200_000), new Uint8Array(0)];
    p.group(frames);
    const g = await r.nextGroup();
    assert.equal(g.frames.length, 3);
    g.frames.forEach((f, i) => assert.ok(Buffer.from(f).equals(Buffer.from(frames[i])), `frame ${i}`));
    p.close();
  });
}

test("@moq/net late joiner gets the open group from its first frame", async () => {
  const pub = await dial("anon");
  const early = await dial("anon");
  const p = publish(pub, "late", "video");
  await waitAnnounced(early, "late");
  const r1 = subscribe(early, "late", "video");
  await p.waitSubscribed();
  const open = p.group(["a", "b"], { keepOpen: true });
  await r1.nextFrame();
  const late = await dial("anon");
  await waitAnnounced(late, "late");
  const r2 = subscribe(late, "late", "video");
  open.writeFrame({ payload: new TextEncoder().encode("c"), timestamp: Moq.Time.Timestamp.now() });
  open.close();
  const g = await r2.nextGroup();
  assert.deepEqual(g.frames.map((f) => new TextDecoder().decode(f)), ["a", "b", "c"]);
  p.close();
});
