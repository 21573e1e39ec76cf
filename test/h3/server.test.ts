import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { H3Connection } from "../../src/transport/h3/connection.js";
import { encodeFrame, encodeSettings, Frame, readFrame, StreamType } from "../../src/transport/h3/frame.js";
import { decodeFieldSection, encodeFieldSection } from "../../src/transport/h3/qpack.js";
import type { WebTransportSession } from "../../src/transport/h3/webtransport.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import type { BidiStream } from "../../src/transport/session.js";
import { Reader, Writer } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const quic = { idle_timeout: 5000, keep_alive: 1000, stream_window: 1 << 20, connection_window: 8 << 20, max_streams: 100, socket_buffer: 1 << 20 };
const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);
const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["h3"], cert: certs.current, quic, log });
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic, log });
const sessions: WebTransportSession[] = [];
server.onConnection = (c) =>
  new H3Connection<string>(c, {
    log,
    maxSessions: 4,
    maxHeaderSize: 4096,
    accept: async (req) => (req.url.pathname === "/denied" ? { ok: false, status: 403, reason: "no" } : { ok: true, protocol: req.protocols.find((p) => p === "moq-lite-05"), value: req.url.pathname }),
    onSession: (s) => sessions.push(s),
  }).start();
after(async () => {
  await client.close();
  await server.close();
  certs.close();
});

async function h3(): Promise<QuicConnection> {
  const c = await within(client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["h3"], insecure: true }), 5000, "handshake");
  const control = await c.openUni();
  control.write(new Writer(1).varint(StreamType.Control).finish());
  control.write(encodeSettings(new Map([[0x1, 0], [0x8, 1], [0x33, 1]])));
  return c;
}

/** Send a request's HEADERS and read the response's :status (or the reset code). */
function request(c: QuicConnection, fields: Array<[string, string]> | Uint8Array, fin = false): Promise<{ status?: number; headers?: Map<string, string>; reset?: number; stream: BidiStream }> {
  return c.openBidi().then(
    (s) =>
      new Promise((resolve) => {
        let buf = new Uint8Array(0);
        s.recv.onData = (d) => {
          buf = Buffer.concat([buf, d]);
          try {
            const f = readFrame(new Reader(buf), 65536);
            const headers = new Map(decodeFieldSection(f.payload));
            resolve({ status: Number(headers.get(":status")), headers, stream: s });
          } catch {
            // wait for more
          }
        };
        s.recv.onReset = (code) => resolve({ reset: code, stream: s });
        s.send.write(fields instanceof Uint8Array ? fields : encodeFrame(Frame.Headers, encodeFieldSection(fields)));
        if (fin) s.send.end();
      }),
  );
}

const connect = (path: string): Array<[string, string]> => [
  [":method", "CONNECT"],
  [":protocol", "webtransport"],
  [":scheme", "https"],
  [":authority", "localhost"],
  [":path", path],
  ["wt-available-protocols", '"moq-lite-05", "moq-lite-04"'],
];

test("extended CONNECT is answered 200 with the chosen wt-protocol; a refusal is a real status", async () => {
  const c = await h3();
  const ok = await within(request(c, connect("/anon?jwt=x")), 5000, "CONNECT response");
  assert.equal(ok.status, 200);
  assert.equal(ok.headers?.get("wt-protocol"), '"moq-lite-05"');
  assert.equal(sessions.at(-1)?.url.search, "?jwt=x");
  assert.equal((await request(c, connect("/denied"))).status, 403);
  c.close(0, "");
});

test("a CONNECT without :protocol gets 400, other methods 405", async () => {
  const c = await h3();
  assert.equal((await request(c, [[":method", "CONNECT"], [":authority", "localhost"]])).status, 400);
  assert.equal((await request(c, [[":method", "GET"], [":scheme", "https"], [":authority", "localhost"], [":path", "/"]])).status, 405);
  c.close(0, "");
});

test("malformed requests reset their stream and the connection keeps serving", async () => {
  const c = await h3();
  const oversized = new Writer(8).varint(Frame.Headers).varint(100_000).finish();
  assert.equal((await within(request(c, oversized), 5000, "oversized frame reset")).reset, 0x107);
  const data = encodeFrame(Frame.Data, Uint8Array.from([1, 2, 3]));
  assert.equal((await within(request(c, data), 5000, "DATA-first reset")).reset, 0x105);
  const truncated = Uint8Array.from([Frame.Headers, 0x10, 0x00]);
  assert.equal((await within(request(c, truncated, true), 5000, "truncated frame reset")).reset, 0x106);
  const upper = await within(request(c, [[":method", "CONNECT"], ["X-Upper", "1"]]), 5000, "uppercase header reset");
  assert.equal(upper.reset, 0x10e);
  // Unknown uni stream types are refused individually.
  const odd = await c.openUni();
  odd.write(new Writer(2).varint(0x21).finish());
  assert.equal((await request(c, connect("/anon"))).status, 200);
  c.close(0, "");
});

test("bad QPACK closes that connection with QPACK_DECOMPRESSION_FAILED; others carry on", async () => {
  const bad = await h3();
  void request(bad, encodeFrame(Frame.Headers, Uint8Array.from([0x02, 0x00, 0x80])));
  const info = await within(bad.closed, 5000, "the connection to close");
  assert.equal(info.code, 0x200);
  const good = await h3();
  assert.equal((await request(good, connect("/anon"))).status, 200);
  good.close(0, "");
});
