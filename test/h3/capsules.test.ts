// Capsules on a WebTransport CONNECT stream are capped and parsed incrementally: a declared length
// beyond max_capsule_size is refused as soon as its header arrives (without waiting for, or
// buffering, the body), and a large capsule split into many DATA frames costs linear work.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { H3Connection } from "../../src/transport/h3/connection.js";
import { encodeFrame, Frame, H3Error } from "../../src/transport/h3/frame.js";
import { Capsule, type WebTransportSession } from "../../src/transport/h3/webtransport.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import type { BidiStream } from "../../src/transport/session.js";
import { Writer } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";
import { connectHeaders, h3, request } from "./client.js";

const log = silentLogger();
const quic = { idle_timeout: 10_000, keep_alive: 1000, stream_window: 4 << 20, connection_window: 16 << 20, max_streams: 100, socket_buffer: 4 << 20 };
const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);

/** A server whose CONNECT streams allow capsules of `maxCapsule` bytes; sessions land in `sessions`. */
async function server(maxCapsule: number): Promise<{ ep: QuicEndpoint; sessions: WebTransportSession[] }> {
  const ep = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["h3"], cert: certs.current, quic, log });
  const sessions: WebTransportSession[] = [];
  ep.onConnection = (c) =>
    new H3Connection<null>(c, {
      log,
      maxSessions: 4,
      maxCapsule,
      accept: async (req) => ({ ok: true, protocol: req.protocols[0], value: null }),
      onSession: (s) => sessions.push(s),
    }).start();
  return { ep, sessions };
}

const small = await server(64 * 1024);
const large = await server(16 << 20);
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic, log });
after(async () => {
  await client.close();
  await small.ep.close();
  await large.ep.close();
  certs.close();
});

const capsuleHeader = (type: number, length: number): Uint8Array => new Writer(16).varint(type).varint(length).finish();
const closeCapsule = (code: number, reason: string): Uint8Array => {
  const body = new Writer(64).u8(code >>> 24).u8((code >>> 16) & 0xff).u8((code >>> 8) & 0xff).u8(code & 0xff).bytes(Buffer.from(reason)).finish();
  return new Writer(80).varint(Capsule.CloseSession).varint(body.byteLength).bytes(body).finish();
};

/** The CONNECT stream's reset code as the client sees it. */
const resetOf = (s: BidiStream): Promise<number> => new Promise((r) => (s.recv.onReset = r));

test("a capsule declaring 2^30 bytes is refused at its header; the connection keeps serving", async () => {
  const c = await h3(client, small.ep.port);
  const ok = await within(request(c, connectHeaders("/a")), 5000, "the CONNECT response");
  assert.equal(ok.status, 200);
  const reset = resetOf(ok.stream);
  ok.stream.send.write(encodeFrame(Frame.Data, capsuleHeader(0x3f00, 2 ** 30)));
  assert.equal(await within(reset, 3000, "the CONNECT stream to be reset at the capsule header"), H3Error.ExcessiveLoad);
  const session = small.sessions.at(-1);
  assert.ok(session !== undefined);
  const info = await within(session.closed, 3000, "the session to end");
  assert.equal(info.code, H3Error.ExcessiveLoad);
  // Only that session ended: the same connection answers the next CONNECT.
  assert.equal((await within(request(c, connectHeaders("/b")), 5000, "a second CONNECT")).status, 200);
  c.close(0, "");
});

test("a 12 MiB capsule in 1 KiB DATA frames is parsed in linear time, then CLOSE_WEBTRANSPORT_SESSION arrives", async () => {
  const c = await h3(client, large.ep.port);
  const ok = await within(request(c, connectHeaders("/big")), 5000, "the CONNECT response");
  assert.equal(ok.status, 200);
  const session = large.sessions.at(-1);
  assert.ok(session !== undefined);
  const total = 12 << 20;
  const piece = new Uint8Array(1024).fill(7);
  ok.stream.send.write(encodeFrame(Frame.Data, capsuleHeader(0x3f00, total)));
  let sent = 0;
  await new Promise<void>((resolve) => {
    // Write with backpressure so the client's own queue stays small.
    const pump = (): void => {
      while (sent < total) {
        sent += piece.byteLength;
        if (!ok.stream.send.write(encodeFrame(Frame.Data, piece))) return;
      }
      resolve();
    };
    ok.stream.send.onDrain = pump;
    pump();
  });
  ok.stream.send.write(encodeFrame(Frame.Data, closeCapsule(4242, "done")));
  // Gluing each frame onto the body (the old parser) took minutes here; linear parsing is
  // bounded by the transfer itself. The bound is two orders of magnitude above that.
  const info = await within(session.closed, 30_000, "the close capsule after 12 MiB of capsule data");
  assert.deepEqual([info.code, info.reason, info.remote], [4242, "done", true]);
  c.close(0, "");
});
