// Drain on HTTP/3: the server's GOAWAY names the first request stream it will not process, later
// CONNECTs are rejected with H3_REQUEST_REJECTED, and sessions already open keep working.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { H3Connection } from "../../src/transport/h3/connection.js";
import { Frame, H3Error, readFrame, StreamType } from "../../src/transport/h3/frame.js";
import type { WebTransportSession } from "../../src/transport/h3/webtransport.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { Reader, ShortRead } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";
import { connectHeaders, h3, request } from "./client.js";

const log = silentLogger();
const quic = { idle_timeout: 5000, keep_alive: 1000, stream_window: 1 << 20, connection_window: 8 << 20, max_streams: 100, socket_buffer: 1 << 20 };
const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);
const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["h3"], cert: certs.current, quic, log });
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic, log });
const conns: H3Connection<string>[] = [];
const sessions: WebTransportSession[] = [];
let sessionOpened: (() => void) | undefined;
server.onConnection = (c) => {
  const h = new H3Connection<string>(c, {
    log,
    maxSessions: 4,
    maxHeaderSize: 4096,
    accept: async (req) => ({ ok: true, protocol: "moq-lite-05", value: req.url.pathname }),
    onSession: (s) => {
      sessions.push(s);
      sessionOpened?.();
    },
  });
  conns.push(h);
  h.start();
};
after(async () => {
  await client.close();
  await server.close();
  certs.close();
});

test("GOAWAY on drain names the next request stream; later CONNECTs are rejected, open sessions carry on", async () => {
  const c = await h3(client, server.port);
  // The server's control stream: its type, SETTINGS, and later GOAWAY.
  const frames: Array<{ type: number; payload: Uint8Array }> = [];
  let notify: (() => void) | undefined;
  c.onUni = (s) => {
    let buf = new Uint8Array(0);
    let typed = false;
    s.onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const r = new Reader(buf);
      try {
        if (!typed) {
          if (r.varint() !== StreamType.Control) return;
          typed = true;
        }
        for (;;) {
          const start = r.pos;
          try {
            frames.push(readFrame(r, 65536));
          } catch (e) {
            if (!(e instanceof ShortRead)) throw e;
            buf = buf.subarray(start);
            break;
          }
        }
        notify?.();
      } catch (e) {
        if (!(e instanceof ShortRead)) throw e;
      }
    };
  };
  const goaway = (): Promise<{ type: number; payload: Uint8Array }> =>
    within(
      new Promise((resolve) => {
        const look = (): void => {
          const f = frames.find((x) => x.type === Frame.Goaway);
          if (f !== undefined) resolve(f);
        };
        notify = look;
        look();
      }),
      5000,
      "the GOAWAY frame",
    );

  const opened = new Promise<void>((r) => (sessionOpened = r));
  const first = await within(request(c, connectHeaders("/room")), 5000, "the first CONNECT");
  assert.equal(first.status, 200);
  assert.equal(first.stream.id, 0);
  await within(opened, 5000, "the session");

  assert.equal(conns.length, 1);
  conns[0].goaway();
  const f = await goaway();
  assert.equal(new Reader(f.payload).varint(), 4, "GOAWAY names the stream after the last request processed");

  const late = await within(request(c, connectHeaders("/late")), 5000, "the late CONNECT's answer");
  assert.equal(late.reset, H3Error.RequestRejected);
  assert.equal(sessions.length, 1, "no session was opened for the rejected request");
  // The session opened before GOAWAY still takes streams from the client.
  const uni = await sessions[0].openUni();
  uni.write(new Uint8Array([1, 2, 3]));
  c.close(0, "done");
});
