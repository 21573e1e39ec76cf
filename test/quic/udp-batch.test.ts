// The UDP send and receive paths both ways: with the native batch helper (sendmmsg + GSO and
// recvmmsg on node:dgram's socket, when it was built at install time) and with plain node:dgram.
// Data must arrive whole and in order either way, and the counters show which path carried it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { loadBatchAddon, UdpSender, type BatchAddon } from "../../src/transport/quic/udp-batch.js";
import { UdpReceiver } from "../../src/transport/quic/udp-recv.js";
import { createSocket } from "node:dgram";
import { CertStore } from "../../src/transport/tls/cert.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const quic = { idle_timeout: 5000, keep_alive: 1000, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 100, socket_buffer: 8 << 20 };
const certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
after(() => certs.close());

interface Counts {
  /** Packets the sending side sent through the helper, and through node:dgram. */
  batched: number;
  fallback: number;
  /** Datagrams the receiving side read with recvmmsg, and through node:dgram. */
  recvBatched: number;
  recvPlain: number;
}

/**
 * 4 MiB from the server to a client, or with `serverBind` "::" from an IPv4 client up to a
 * dual-stack server (the relay's default bind), which sees its peer IPv4-mapped.
 */
async function transfer(batch: boolean, host: string, serverBind = host): Promise<Counts> {
  const server = await QuicEndpoint.bind({ host: serverBind, port: 0, alpns: ["bench"], cert: certs.current, quic, log, batchSend: batch, batchRecv: batch });
  const client = await QuicEndpoint.bind({ host, port: 0, quic, log, batchSend: batch, batchRecv: batch });
  const up = serverBind !== host;
  try {
    const accepted = new Promise<QuicConnection>((resolve) => (server.onConnection = resolve));
    const c = await within(client.connect({ host, port: server.port, serverName: "localhost", alpns: ["bench"], insecure: true }), 5000, "handshake");
    const sc = await within(accepted, 5000, "server side");
    const body = randomBytes(4 << 20);
    const [from, to] = up ? [c, sc] : [sc, c];
    const got = new Promise<Buffer>((resolve) => {
      to.onUni = (u) => {
        const parts: Uint8Array[] = [];
        u.onData = (d) => parts.push(d);
        u.onEnd = () => resolve(Buffer.concat(parts));
      };
    });
    const out = await from.openUni();
    for (let i = 0; i < body.length; i += 64 << 10) out.write(body.subarray(i, i + (64 << 10)));
    out.end();
    const received = await within(got, 30_000, "4 MiB over one stream");
    assert.equal(createHash("sha256").update(received).digest("hex"), createHash("sha256").update(body).digest("hex"));
    c.close(0, "");
    const [tx, rx] = up ? [client, server] : [server, client];
    return { batched: tx.udp.batched, fallback: tx.udp.fallback, recvBatched: rx.udpIn.batched, recvPlain: rx.udpIn.plain };
  } finally {
    await client.close();
    await server.close();
  }
}

test("node:dgram path (helper disabled): 4 MiB arrive intact, every packet sent and received through node:dgram", async () => {
  const r = await transfer(false, "127.0.0.1");
  assert.equal(r.batched, 0);
  assert.ok(r.fallback > 3000);
  assert.equal(r.recvBatched, 0);
  assert.ok(r.recvPlain > 3000);
});

test("native helper path: 4 MiB arrive intact over IPv4, IPv6 and dual-stack sockets, packets batched", { skip: loadBatchAddon() === null ? "helper not built (no gcc at install time)" : false }, async () => {
  for (const [host, serverBind] of [["127.0.0.1", "127.0.0.1"], ["::1", "::1"], ["127.0.0.1", "::"]]) {
    const r = await transfer(true, host, serverBind);
    assert.ok(r.batched > 3000, `${host}: ${r.batched} packets batched, ${r.fallback} through node:dgram`);
    // Bursts of a sendmmsg arrive queued: all but the first of each are read with recvmmsg.
    assert.ok(r.recvBatched > 1000, `${host}: ${r.recvBatched} datagrams received with recvmmsg, ${r.recvPlain} through node:dgram`);
  }
});

test("a helper built before slots and receives (no version, no recvBatch) is not used: node:dgram sends and receives", async () => {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    const old: BatchAddon = { sendBatch: () => 0, makeAddr: () => Buffer.alloc(16) };
    const got: string[] = [];
    const rx = new UdpReceiver(socket, old, (d, from) => got.push(`${from.host}:${d.toString()}`));
    assert.equal(rx.usesHelper, false);
    // Its sendBatch would read packets at consecutive offsets, not from the slots.
    assert.equal(new UdpSender(socket, false, old).usesHelper, false);
    socket.on("message", rx.onMessage);
    const tx = createSocket("udp4");
    tx.send("hello", socket.address().port, "127.0.0.1");
    await within(new Promise<void>((resolve) => socket.once("message", () => resolve())), 5000, "the datagram");
    tx.close();
    assert.deepEqual(got, ["127.0.0.1:hello"]);
    assert.equal(rx.plain, 1);
    assert.equal(rx.batched, 0);
  } finally {
    socket.close();
  }
});
