// Slowloris on the TCP port: connections that never finish a step before their first request (no
// first byte, half a TLS ClientHello, half a request line, a trickled head, a stuck WebSocket
// upgrade) are cut at that step's deadline, and one address cannot hold more than its share of
// half-open connections, so other addresses are still served meanwhile.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect as netConnect, type Socket } from "node:net";
import { startFixture, until, within, type Fixture } from "./fixture.js";
import { startTestRelay } from "../util/relay.js";

const HEAD = 400;
const UPGRADE = 600;
const PER_ADDRESS = 16;

/** A TCP connection from `localAddress`, with when it opened and a promise for when it closed. */
interface Probe {
  socket: Socket;
  opened: number;
  closed: Promise<number>;
}

function open(port: number, localAddress = "127.0.0.1"): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: "127.0.0.1", port, localAddress });
    // The relay may refuse or cut us: that is the point, not a failure of the test client.
    socket.on("error", () => undefined);
    const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now())));
    socket.once("connect", () => resolve({ socket, opened: Date.now(), closed }));
    socket.once("close", () => reject(new Error("closed before connecting")));
  });
}

/** The first six bytes of a TLS ClientHello record, and nothing more. */
const HALF_CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);
const HALF_REQUEST = "GET /certificate.sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/** GET `path` from another loopback address (127.0.0.2 is still this machine). */
function getFrom(localAddress: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, localAddress, agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path} from ${localAddress} timed out`)));
    req.end();
  });
}

/** Milliseconds from `p.opened` (or `from`) until the connection closed, bounded by `ms`. */
async function closesWithin(p: Probe, ms: number, what: string, from = p.opened): Promise<number> {
  return (await within(p.closed, ms, what)) - from;
}

describe("pre-request deadlines on the TCP port", () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ tcp: { headTimeout: HEAD, upgradeTimeout: UPGRADE, maxHandshakes: 256, maxHandshakesPerAddress: PER_ADDRESS, maxConnections: 1000 } });
  });
  after(() => f.close());

  test("silence, half a ClientHello and half a request line are each cut at their step's deadline", async () => {
    const silent = await open(f.port);
    const tls = await open(f.port);
    tls.socket.write(HALF_CLIENT_HELLO);
    const head = await open(f.port);
    head.socket.write(HALF_REQUEST);
    for (const [p, what] of [[silent, "the silent connection"], [tls, "the half ClientHello"], [head, "the half request line"]] as const) {
      const ms = await closesWithin(p, HEAD + 2000, `${what} to be closed`);
      assert.ok(ms >= HEAD - 50, `${what} closed after ${ms} ms, not before the deadline`);
    }
  });

  test("a head trickled a byte at a time is cut at the deadline, activity does not extend it", async () => {
    const p = await open(f.port);
    const bytes = Buffer.from(HALF_REQUEST);
    let i = 0;
    const drip = setInterval(() => {
      if (i < bytes.length && !p.socket.destroyed) p.socket.write(bytes.subarray(i, ++i));
    }, 50);
    try {
      const ms = await closesWithin(p, HEAD + 2000, "the trickling connection to be closed");
      assert.ok(ms < HEAD + 1000, `closed after ${ms} ms`);
    } finally {
      clearInterval(drip);
    }
  });

  test("after a keep-alive response, the next head has the same deadline", async () => {
    const p = await open(f.port);
    p.socket.write("GET /certificate.sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await within(new Promise((r) => p.socket.once("data", r)), 3000, "the first response");
    const answered = Date.now();
    p.socket.write(HALF_REQUEST);
    const ms = await closesWithin(p, HEAD + 2000, "the second, unfinished head to be cut", answered);
    assert.ok(ms < HEAD + 1000, `closed ${ms} ms after the first response`);
  });

  test("a WebSocket upgrade whose authorisation never answers is cut at the upgrade deadline", async () => {
    const p = await open(f.port);
    p.socket.write(
      "GET /stuck HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: qmux-02.moq-lite-05\r\n\r\n",
    );
    const sent = Date.now();
    const ms = await closesWithin(p, UPGRADE + 2000, "the stuck upgrade to be cut", sent);
    assert.ok(ms >= UPGRADE - 50 && ms < UPGRADE + 1000, `cut ${ms} ms after the upgrade request`);
  });

  test("hundreds of half-open connections from one address are closed while another address is served", async () => {
    const probes: Probe[] = [];
    const opens = [];
    for (let i = 0; i < 300; i++) {
      opens.push(
        open(f.port).then(
          (p) => {
            p.socket.write(i % 2 === 0 ? HALF_CLIENT_HELLO : HALF_REQUEST);
            probes.push(p);
          },
          () => undefined, // refused at accept: closed before we even saw it connect
        ),
      );
    }
    await Promise.all(opens);
    assert.ok(f.tcp.halfOpenCount <= PER_ADDRESS, `${f.tcp.halfOpenCount} half-open connections from one address (cap ${PER_ADDRESS})`);
    // Another address still gets its request answered while those are open.
    const other = await within(getFrom("127.0.0.2", f.port, "/certificate.sha256"), 5000, "a request from 127.0.0.2");
    assert.equal(other.status, 200);
    assert.equal(other.body, f.certs.fingerprint);
    const started = Math.min(...probes.map((p) => p.opened));
    const last = Math.max(...(await within(Promise.all(probes.map((p) => p.closed)), HEAD + 5000, "every half-open connection to be closed")));
    assert.ok(last - started < HEAD + 3000, `the last one closed ${last - started} ms after the flood started`);
    // The server's side of each close may be a moment behind the client's.
    await until(() => f.tcp.halfOpenCount === 0, 2000, "the half-open count to return to 0");
  });
});

test("the relay with its default limits: a half-open flood from one address is closed, /health answers meanwhile", async (t) => {
  const relay = await startTestRelay();
  t.after(() => relay.close());
  const probes: Probe[] = [];
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      open(relay.port).then(
        (p) => {
          p.socket.write(i % 2 === 0 ? HALF_CLIENT_HELLO : HALF_REQUEST);
          probes.push(p);
        },
        () => undefined,
      ),
    ),
  );
  const health = await within(getFrom("127.0.0.2", relay.port, "/health"), 5000, "/health from another address");
  assert.equal(health.status, 200);
  // [limits] head_timeout defaults to 5 s.
  const started = Math.min(...probes.map((p) => p.opened));
  const last = Math.max(...(await within(Promise.all(probes.map((p) => p.closed)), 12_000, "every half-open connection to be closed")));
  assert.ok(last - started < 8000, `the last one closed ${last - started} ms after the flood started`);
});
