// The HTTP/3 client role (src/transport/h3/client.ts) against our own HTTP/3 server over real QUIC:
// the negotiated wt-protocol, refusals, streams and datagrams the server sends before the client
// attached its handlers, and close codes both ways.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { H3Connection } from "../../src/transport/h3/connection.js";
import { openWebTransport, WebTransportRefused } from "../../src/transport/h3/client.js";
import type { WebTransportSession } from "../../src/transport/h3/webtransport.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import type { RecvStream } from "../../src/transport/session.js";
import { detach } from "../../src/util/async.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const quic = { idle_timeout: 5000, keep_alive: 1000, stream_window: 1 << 20, connection_window: 8 << 20, max_streams: 100, socket_buffer: 1 << 20 };
const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);
const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["h3"], cert: certs.current, quic, log });
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic, log });
const sessions: Array<{ session: WebTransportSession; url: string }> = [];
server.onConnection = (c) =>
  new H3Connection<string>(c, {
    log,
    maxSessions: 4,
    accept: async (req) => {
      if (req.url.pathname === "/denied") return { ok: false, status: 403, reason: "no" };
      const protocol = req.url.pathname === "/noproto" ? undefined : req.protocols.find((p) => p === "moq-lite-05");
      return { ok: true, protocol, value: req.url.href };
    },
    onSession: (session, url) => {
      sessions.push({ session, url });
      // At once, before the client has read the response: the client must hold these.
      const fail = (err: unknown): void => session.close(1, String(err));
      detach(
        session.openUni().then((s) => {
          s.write(Buffer.from("uni hello"));
          s.end();
        }),
        fail,
      );
      detach(
        session.openBidi().then((s) => {
          s.send.write(Buffer.from("bidi hello"));
          s.send.end();
        }),
        fail,
      );
    },
  }).start();

after(async () => {
  await client.close();
  await server.close();
  certs.close();
});

const dial = () => within(client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["h3"], insecure: true }), 5000, "handshake");

function readAll(r: RecvStream): Promise<string> {
  const chunks: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    r.onData = (c) => chunks.push(c);
    r.onEnd = () => resolve(Buffer.concat(chunks).toString());
    r.onReset = (code) => reject(new Error(`reset ${code}`));
  });
}

test("a CONNECT opens a session on moq-lite-05 with path and query; early server streams wait for the handlers", async () => {
  const c = await dial();
  const url = new URL(`https://localhost:${server.port}/anon/room?jwt=abc`);
  const s = await within(openWebTransport(c, { url, protocols: ["moq-lite-05"], log }), 5000, "the session");
  assert.equal(s.protocol, "moq-lite-05");
  assert.equal(sessions.at(-1)?.url, url.href, "the server saw the path and token");
  // The handlers come a while later, as a dialer's application attaches them after awaiting.
  await new Promise((r) => setTimeout(r, 200));
  const uni = new Promise<string>((resolve) => (s.onUni = (r) => resolve(readAll(r))));
  const bidi = new Promise<string>((resolve) => (s.onBidi = (b) => resolve(readAll(b.recv))));
  assert.equal(await within(uni, 5000, "the early uni stream"), "uni hello");
  assert.equal(await within(bidi, 5000, "the early bidi stream"), "bidi hello");
  // A stream we open reaches the server's session.
  const remote = sessions.at(-1)!.session;
  const got = new Promise<string>((resolve) => (remote.onUni = (r) => resolve(readAll(r))));
  const out = await s.openUni();
  out.write(Buffer.from("from the client"));
  out.end();
  assert.equal(await within(got, 5000, "the client's stream"), "from the client");
  // Close codes travel in CLOSE_WEBTRANSPORT_SESSION.
  s.close(7, "bye");
  const info = await within(remote.closed, 5000, "the server's session to close");
  assert.deepEqual([info.code, info.reason], [7, "bye"]);
  c.close(0, "");
});

test("the server closing the session reaches the client with its code", async () => {
  const c = await dial();
  const s = await within(openWebTransport(c, { url: new URL(`https://localhost:${server.port}/x`), protocols: ["moq-lite-05"], log }), 5000, "the session");
  sessions.at(-1)!.session.close(42, "going");
  const info = await within(s.closed, 5000, "the client's session to close");
  assert.deepEqual([info.code, info.reason, info.remote], [42, "going", true]);
  c.close(0, "");
});

test("refusals: an HTTP status, or no offered wt-protocol in the answer", async () => {
  const c = await dial();
  await assert.rejects(openWebTransport(c, { url: new URL(`https://localhost:${server.port}/denied`), protocols: ["moq-lite-05"], log }), (e: unknown) => e instanceof WebTransportRefused && e.status === 403);
  const d = await dial();
  await assert.rejects(openWebTransport(d, { url: new URL(`https://localhost:${server.port}/noproto`), protocols: ["moq-lite-05"], log }), (e: unknown) => e instanceof WebTransportRefused && /protocol/.test(e.message));
  c.close(0, "");
  d.close(0, "");
});
