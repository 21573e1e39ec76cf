import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { Reader, Writer } from "../../src/util/bytes.js";
import { Setup } from "../../src/session/lite/setup.js";
import { AnnounceRequest } from "../../src/session/lite/announce.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { Version } from "../../src/session/lite/version.js";
import { silentLogger } from "../../src/util/log.js";
import { startTestRelay } from "../util/relay.js";
import { within } from "../util/moq.js";

const relay = await startTestRelay();
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: relay.config.server.quic, log: silentLogger() });
after(async () => {
  await client.close();
  await relay.close();
});

async function dial(path: string): Promise<QuicConnection> {
  const c = await within(client.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [relay.certs.current.fingerprint] }), 5000, "raw QUIC handshake");
  const setup = await c.openUni();
  const w = new Writer().varint(Uni.Setup);
  new Setup({ origin: 0x1234n, path }).encode(w, Version.Lite05);
  setup.write(w.finish());
  setup.end();
  return c;
}

test("raw QUIC (ALPN moq-lite-05) authorises the path carried in SETUP", async () => {
  const c = await dial("/anon");
  assert.equal(c.protocol, "moq-lite-05");
  // Authorised to publish under anon/, the relay asks what we publish: ANNOUNCE_REQUEST prefix "".
  const req = await within(
    new Promise<AnnounceRequest>((resolve) => {
      c.onBidi = (b) => {
        b.recv.onData = (d) => {
          const r = new Reader(d);
          assert.equal(r.varint(), Bidi.Announce);
          resolve(AnnounceRequest.decode(r, Version.Lite05));
        };
      };
    }),
    5000,
    "the relay's ANNOUNCE_REQUEST",
  );
  assert.equal(req.prefix, "");
  assert.notEqual(req.excludeHop, 0n);
  c.close(0, "");
});

test("raw QUIC with a path outside the public prefixes is closed as unauthorized", async () => {
  const c = await dial("/private");
  const info = await within(c.closed, 5000, "the relay to refuse the session");
  assert.equal(info.code, 6);
});
