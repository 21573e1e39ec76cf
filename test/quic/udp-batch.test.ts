// The UDP send path both ways: with the native batch helper (sendmmsg + GSO on node:dgram's
// socket, when it was built at install time) and with plain node:dgram. Data must arrive whole
// and in order either way, and the counters show which path carried it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { loadBatchAddon } from "../../src/transport/quic/udp-batch.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const quic = { idle_timeout: 5000, keep_alive: 1000, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 100, socket_buffer: 8 << 20 };
const certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
after(() => certs.close());

async function transfer(batchSend: boolean, host: string): Promise<{ batched: number; fallback: number }> {
  const server = await QuicEndpoint.bind({ host, port: 0, alpns: ["bench"], cert: certs.current, quic, log, batchSend });
  const client = await QuicEndpoint.bind({ host, port: 0, quic, log, batchSend });
  try {
    const accepted = new Promise<QuicConnection>((resolve) => (server.onConnection = resolve));
    const c = await within(client.connect({ host, port: server.port, serverName: "localhost", alpns: ["bench"], insecure: true }), 5000, "handshake");
    const sc = await within(accepted, 5000, "server side");
    const body = randomBytes(4 << 20);
    const got = new Promise<Buffer>((resolve) => {
      c.onUni = (u) => {
        const parts: Uint8Array[] = [];
        u.onData = (d) => parts.push(d);
        u.onEnd = () => resolve(Buffer.concat(parts));
      };
    });
    const out = await sc.openUni();
    for (let i = 0; i < body.length; i += 64 << 10) out.write(body.subarray(i, i + (64 << 10)));
    out.end();
    const received = await within(got, 30_000, "4 MiB over one stream");
    assert.equal(createHash("sha256").update(received).digest("hex"), createHash("sha256").update(body).digest("hex"));
    c.close(0, "");
    return { batched: server.udp.batched, fallback: server.udp.fallback };
  } finally {
    await client.close();
    await server.close();
  }
}

test("node:dgram path (helper disabled): 4 MiB arrive intact, every packet through node:dgram", async () => {
  const r = await transfer(false, "127.0.0.1");
  assert.equal(r.batched, 0);
  assert.ok(r.fallback > 3000);
});

test("native helper path: 4 MiB arrive intact over IPv4 and IPv6, packets batched", { skip: loadBatchAddon() === null ? "helper not built (no gcc at install time)" : false }, async () => {
  for (const host of ["127.0.0.1", "::1"]) {
    const r = await transfer(true, host);
    assert.ok(r.batched > 3000, `${host}: ${r.batched} packets batched, ${r.fallback} through node:dgram`);
  }
});
