// QUIC admission on our engine: stateless Retry round trips with our client, unknown versions get
// Version Negotiation, handshakes that never finish are capped per address and timed out while
// other addresses still connect, and packets for connections we do not know get a stateless reset
// our client recognises.
import { test, after } from "node:test";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { QuicEndpoint, type QuicAdmission } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { loadNative } from "../../src/transport/quic/native.js";
import { resetToken } from "../../src/transport/quic/stateless.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";
import { clientInitials, rawSocket, sendAll } from "./initials.js";

const log = silentLogger();
const quic = { idle_timeout: 20_000, keep_alive: 0, stream_window: 1 << 20, connection_window: 4 << 20, max_streams: 100, socket_buffer: 1 << 20 };
const native = loadNative();
assert.ok(native !== null, "the QUIC binding is installed");
const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);
const endpoints: QuicEndpoint[] = [];
after(async () => {
  for (const e of endpoints) await e.close();
  certs.close();
});

async function server(admission: QuicAdmission): Promise<QuicEndpoint> {
  const ep = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["echo"], cert: certs.current, quic, admission, log });
  // An echo on every bidi stream, so a connection is shown to work, not just to exist.
  ep.onConnection = (c) => {
    c.onBidi = (s) => {
      s.recv.onData = (d) => s.send.write(d);
      s.recv.onEnd = () => s.send.end();
    };
  };
  endpoints.push(ep);
  return ep;
}

async function client(address = "127.0.0.1"): Promise<QuicEndpoint> {
  const ep = await QuicEndpoint.bind({ host: address, port: 0, quic, log });
  endpoints.push(ep);
  return ep;
}

async function dial(c: QuicEndpoint, port: number): Promise<QuicConnection> {
  return within(c.connect({ host: "127.0.0.1", port, serverName: "localhost", alpns: ["echo"], insecure: true }), 5000, "the handshake");
}

async function echo(conn: QuicConnection, text: string): Promise<string> {
  const s = await conn.openBidi();
  let got = "";
  const done = new Promise<string>((r) => {
    s.recv.onData = (d) => (got += Buffer.from(d).toString());
    s.recv.onEnd = () => r(got);
  });
  s.send.write(Buffer.from(text));
  s.send.end();
  return within(done, 5000, "the echo");
}

test('retry = "always": every client proves its address with a Retry token first, and then works', async () => {
  const s = await server({ retry: "always", maxHandshakes: 64, maxHandshakesPerAddress: 8, handshakeTimeout: 5000 });
  const c = await client();
  const conn = await dial(c, s.port);
  assert.equal(await echo(conn, "after retry"), "after retry");
  assert.equal(s.stats.retries, 1);
  assert.equal(s.stats.invalidTokens, 0);
  conn.close(0, "");
});

test("a Retry token is bound to the address it was issued to: from another address it is ignored", async () => {
  const s = await server({ retry: "always", maxHandshakes: 64, maxHandshakesPerAddress: 8, handshakeTimeout: 5000 });
  const raw = await rawSocket("127.0.0.1");
  const thief = await rawSocket("127.0.0.3");
  // A native client that never gets a socket of its own: we carry its packets by hand.
  const cfg = native.Config.withBoringSslCtx(false, false, null, null, null, null);
  cfg.setApplicationProtos(["echo"]);
  const here = { host: "127.0.0.1", port: raw.socket.address().port };
  const there = { host: "127.0.0.1", port: s.port };
  const cl = native.Connection.connect("localhost", randomBytes(16), here, there, cfg);
  const buf = Buffer.alloc(1500);
  const first = cl.send(buf);
  assert.ok(first !== null);
  const answered = raw.next();
  raw.socket.send(buf.subarray(0, first[0]), s.port, "127.0.0.1");
  const retry = await within(answered, 3000, "a Retry");
  assert.equal(native.Header.fromSlice(retry, 16).ty, native.Type.Retry);
  cl.recv(retry, { from: there, to: here });
  const second = cl.send(buf);
  assert.ok(second !== null);
  const withToken = Buffer.from(buf.subarray(0, second[0]));
  assert.ok((native.Header.fromSlice(withToken, 16).token?.byteLength ?? 0) > 0, "the client's second Initial carries the token");
  // The same Initial from another address: the token's MAC does not cover it.
  thief.socket.send(withToken, s.port, "127.0.0.1");
  await within((async () => { while (s.stats.invalidTokens < 1) await new Promise((r) => setTimeout(r, 10)); })(), 3000, "the stolen token to be rejected");
  assert.equal(s.handshakeCount, 0);
  // From the address it was issued to, it opens the handshake.
  const flight = raw.next();
  raw.socket.send(withToken, s.port, "127.0.0.1");
  await within(flight, 3000, "the server's handshake flight");
  assert.equal(s.handshakeCount, 1);
  assert.equal(thief.received.length, 0, "nothing was sent to the other address");
  await raw.close();
  await thief.close();
});

test("an unknown QUIC version gets Version Negotiation listing version 1; a short datagram gets nothing", async () => {
  const s = await server({ retry: "never", maxHandshakes: 64, maxHandshakesPerAddress: 8, handshakeTimeout: 5000 });
  const raw = await rawSocket();
  const dcid = Buffer.alloc(8, 0xaa);
  const scid = Buffer.alloc(8, 0xbb);
  const packet = (size: number): Buffer => {
    const head = Buffer.concat([Buffer.from([0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 8]), dcid, Buffer.from([8]), scid]);
    return Buffer.concat([head, Buffer.alloc(size - head.length)]);
  };
  const vn = raw.next();
  raw.socket.send(packet(600), s.port, "127.0.0.1");
  raw.socket.send(packet(1200), s.port, "127.0.0.1");
  const h = native.Header.fromSlice(await within(vn, 3000, "Version Negotiation"), 20);
  assert.equal(h.ty, native.Type.VersionNegotiation);
  assert.deepEqual(h.versions, [1]);
  // The answer echoes the client's ids swapped (RFC 9000 §17.2.1).
  assert.deepEqual([Buffer.from(h.dcid), Buffer.from(h.scid)], [scid, dcid]);
  assert.equal(s.stats.tooSmall, 1, "the 600-byte datagram (sent first) was dropped unanswered");
  assert.equal(raw.received.length, 1);
  await raw.close();
});

test("handshakes that never finish are capped per address and cut at the deadline; another address still connects", async () => {
  // A deadline long enough that a loaded machine still sees all 8 held and dials the other
  // address while they are (800 ms could pass before the test's next poll).
  const s = await server({ retry: "never", maxHandshakes: 64, maxHandshakesPerAddress: 8, handshakeTimeout: 3000 });
  const raw = await rawSocket("127.0.0.1");
  await sendAll(raw.socket, s.port, clientInitials(40, "echo"));
  // Each accepted Initial gets an answer (the server's first flight); wait for the 8 we expect.
  await within((async () => { while (s.handshakeCount < 8) await new Promise((r) => setTimeout(r, 10)); })(), 3000, "8 handshakes in progress");
  assert.equal(s.handshakeCount, 8, "one address holds at most 8 handshakes");
  assert.ok(s.stats.refused >= 16, `refused ${JSON.stringify(s.stats)}`);
  const other = await client("127.0.0.2");
  const conn = await dial(other, s.port);
  assert.equal(await echo(conn, "still served"), "still served");
  conn.close(0, "");
  // The half-done handshakes are closed at their deadline, freeing their slots.
  await within((async () => { while (s.handshakeCount > 0) await new Promise((r) => setTimeout(r, 20)); })(), 8000, "the stalled handshakes to be cut");
  await raw.close();
});

test('retry = "auto": once handshakes pile up, new clients get a Retry and still connect', async () => {
  // The 8 stalled handshakes must still be held when the new client dials: a deadline no loaded
  // machine reaches first.
  const s = await server({ retry: "auto", maxHandshakes: 16, maxHandshakesPerAddress: 16, handshakeTimeout: 15_000 });
  const raw = await rawSocket("127.0.0.1");
  await sendAll(raw.socket, s.port, clientInitials(8, "echo"));
  await within((async () => { while (s.handshakeCount < 8) await new Promise((r) => setTimeout(r, 10)); })(), 3000, "8 handshakes in progress");
  const c = await client("127.0.0.2");
  const conn = await dial(c, s.port);
  assert.equal(await echo(conn, "validated"), "validated");
  assert.equal(s.stats.retries, 1, "the new client was asked to retry");
  conn.close(0, "");
  await raw.close();
});

test("a short-header packet for an unknown connection gets a stateless reset carrying HMAC(key, dcid)", async () => {
  const s = await server({ retry: "never", maxHandshakes: 64, maxHandshakesPerAddress: 8, handshakeTimeout: 5000 });
  const raw = await rawSocket();
  const dcid = Buffer.alloc(16, 0x5c); // our connection ids are 16 bytes
  const trigger = Buffer.concat([Buffer.from([0x40]), dcid, Buffer.alloc(40, 1)]);
  const reply = raw.next();
  raw.socket.send(trigger, s.port, "127.0.0.1");
  const reset = await within(reply, 3000, "a stateless reset");
  assert.ok(reset.byteLength < trigger.byteLength && reset.byteLength >= 21, `size ${reset.byteLength}`);
  assert.equal(reset[0] & 0xc0, 0x40, "short header with the fixed bit");
  assert.deepEqual(reset.subarray(reset.byteLength - 16), resetToken(dcid));
  // Too small to be answered without risking a reset loop.
  raw.socket.send(trigger.subarray(0, 21), s.port, "127.0.0.1");
  raw.socket.send(trigger, s.port, "127.0.0.1");
  await within(raw.next(), 3000, "the second reset");
  assert.equal(s.stats.resets, 2);
  await raw.close();
});

test("a client whose connection the server lost is told at once by a stateless reset", async () => {
  const s = await server({ retry: "never", maxHandshakes: 64, maxHandshakesPerAddress: 8, handshakeTimeout: 5000 });
  const c = await client();
  const conn = await dial(c, s.port);
  assert.equal(await echo(conn, "before"), "before");
  // Lose the server's state for this connection without telling the client (as after a crash of
  // the connection's state, not of the process that holds the key).
  (s as unknown as { routes: Map<string, unknown> }).routes.clear();
  const started = Date.now();
  const s2 = await conn.openBidi();
  s2.send.write(Buffer.from("anyone there?"));
  await within(conn.closed, 5000, `the client to close on the reset (its idle timeout is 20 s); ${JSON.stringify(s.stats)}`);
  assert.ok(Date.now() - started < 5000);
  assert.ok(s.stats.resets >= 1);
});
