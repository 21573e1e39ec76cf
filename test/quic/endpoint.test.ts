import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import type { BidiStream } from "../../src/transport/session.js";
import { CertStore } from "../../src/transport/tls/cert.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const quic = { idle_timeout: 2000, keep_alive: 500, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 2000, socket_buffer: 8 << 20 };
const certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["moq-lite-05"], cert: certs.current, quic, log });
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic, log });
after(async () => {
  await client.close();
  await server.close();
  certs.close();
});

/** Server behaviour: echo bidi streams, answer uni streams with a uni stream, echo datagrams. */
const serverConns: QuicConnection[] = [];
server.onConnection = (c) => {
  serverConns.push(c);
  c.onBidi = (b) => echo(b);
  c.onUni = (u) => {
    const parts: Uint8Array[] = [];
    u.onData = (d) => parts.push(d);
    u.onEnd = () =>
      void c.openUni().then((out) => {
        out.write(Buffer.concat(parts));
        out.end();
      });
    u.onReset = (code) =>
      void c.openUni().then((out) => {
        out.write(Buffer.from(`reset ${code}`));
        out.end();
      });
  };
  c.onDatagram = (d) => c.sendDatagram(d);
};

const stopCodes: number[] = [];

function echo(b: BidiStream): void {
  b.send.onStop = (code) => stopCodes.push(code);
  b.recv.onData = (d) => {
    if (!b.send.write(d)) b.recv.pause();
  };
  b.send.onDrain = () => b.recv.resume();
  b.recv.onEnd = () => b.send.end();
  b.recv.onReset = (code) => b.send.reset(code);
}

function dial(fingerprints = [certs.current.fingerprint]): Promise<QuicConnection> {
  return within(client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints }), 5000, "QUIC handshake");
}

/**
 * The server's side of the connection accepted after `count` were: the client's handshake may
 * complete before the server has read the client's Finished, so it is waited for (bounded).
 */
async function serverConn(count: number): Promise<QuicConnection> {
  const deadline = Date.now() + 5000;
  while (serverConns.length <= count) {
    if (Date.now() > deadline) throw new Error("timed out after 5000 ms waiting for the server to accept the connection");
    await new Promise((r) => setTimeout(r, 10));
  }
  return serverConns[count];
}

function collect(b: BidiStream): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    b.recv.onData = (d) => parts.push(d);
    b.recv.onEnd = () => resolve(Buffer.concat(parts));
    b.recv.onReset = (code) => reject(Object.assign(new Error(`reset ${code}`), { code }));
  });
}

test("handshake negotiates the MoQ ALPN and pins the certificate fingerprint", async () => {
  const c = await dial();
  assert.equal(c.protocol, "moq-lite-05");
  await assert.rejects(dial(["00".repeat(32)]), /does not match the pinned fingerprint/);
  c.close(0, "done");
});

test("a 20 MB stream arrives intact with backpressure, bidi and uni both directions", async () => {
  const c = await dial();
  const big = Buffer.alloc(20 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
  const s = await c.openBidi();
  const back = collect(s);
  let off = 0;
  const pump = (): void => {
    while (off < big.length) {
      const chunk = big.subarray(off, off + 64 * 1024);
      off += chunk.length;
      if (!s.send.write(chunk)) return;
    }
    s.send.end();
  };
  s.send.onDrain = pump;
  pump();
  assert.ok((await within(back, 30_000, "the echo")).equals(big));

  const uniBack = new Promise<Buffer>((resolve) => {
    c.onUni = (u) => {
      const parts: Uint8Array[] = [];
      u.onData = (d) => parts.push(d);
      u.onEnd = () => resolve(Buffer.concat(parts));
    };
  });
  const u = await c.openUni();
  u.write(Buffer.from("uni hello"));
  u.end();
  assert.equal((await within(uniBack, 5000, "the uni answer")).toString(), "uni hello");
  c.close(0, "done");
});

test("1,000 concurrent streams all complete", async () => {
  const c = await dial();
  const results = await within(
    Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const s = await c.openBidi();
        const back = collect(s);
        s.send.write(Buffer.from(`stream ${i}`));
        s.send.end();
        return (await back).toString() === `stream ${i}`;
      }),
    ),
    30_000,
    "1,000 echoes",
  );
  assert.equal(results.filter(Boolean).length, 1000);
  c.close(0, "done");
});

test("stream resets, STOP_SENDING and datagrams carry through", async () => {
  const c = await dial();
  const s = await c.openBidi();
  const back = collect(s);
  s.send.write(Buffer.from("about to reset"));
  s.send.reset(77);
  await assert.rejects(within(back, 5000, "the echoed reset"), (e: unknown) => (e as { code?: number }).code === 77);

  // We ask the echoing server to stop sending to us; its next write learns the code.
  const stopped = await c.openBidi();
  stopped.recv.stop(55);
  // Bounded by time, not by five 50 ms tries: a loaded machine may take longer to carry it.
  const deadline = Date.now() + 5000;
  while (!stopCodes.includes(55) && Date.now() < deadline) {
    stopped.send.write(Buffer.from("more"));
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(stopCodes.includes(55), `server saw STOP_SENDING codes ${stopCodes.join(",")}`);

  const dgram = new Promise<string>((resolve) => (c.onDatagram = (d) => resolve(Buffer.from(d).toString())));
  assert.ok(c.maxDatagramSize > 1000, `max datagram ${c.maxDatagramSize}`);
  c.sendDatagram(Buffer.from("ping datagram"));
  assert.equal(await within(dgram, 5000, "the datagram echo"), "ping datagram");
  c.close(0, "done");
});

test("close code and reason reach the peer", async () => {
  const count = serverConns.length;
  const c = await dial();
  const peer = await serverConn(count);
  c.close(1234, "goodbye");
  const info = await within(peer.closed, 5000, "the server to see the close");
  assert.equal(info.code, 1234);
  assert.equal(info.reason, "goodbye");
});

test("a peer that vanishes is reaped by the idle timeout", async () => {
  const ghost = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: { ...quic, keep_alive: 0 }, log });
  const count = serverConns.length;
  await within(ghost.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["moq-lite-05"], insecure: true }), 5000, "handshake");
  const peer = await serverConn(count);
  assert.ok(server.isRouted(peer));
  // Drop the socket without a CONNECTION_CLOSE: the server only notices by silence.
  await (ghost as unknown as { socket: { close(cb: () => void): void } }).socket.close(() => undefined);
  const info = await within(peer.closed, 10_000, "the idle timeout");
  assert.equal(info.reason, "idle timeout");
  assert.ok(!server.isRouted(peer), "resources of a dead peer are freed");
});

/** A tiny PKI: a CA and a leaf for "localhost" signed by it (PEM). */
async function pki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const { webcrypto } = await import("node:crypto");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as unknown as CryptoKeyPairLike;
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as unknown as CryptoKeyPairLike;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=moq test CA",
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys as never,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    issuer: ca.subject,
    subject: "CN=localhost",
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: leafKeys.publicKey as never,
    signingKey: caKeys.privateKey as never,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "localhost" }]), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
  });
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", leafKeys.privateKey as never);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString("base64").replace(/.{64}/g, "$&\n").trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString("pem"), certPem: leaf.toString("pem"), keyPem };
}

interface CryptoKeyPairLike {
  publicKey: unknown;
  privateKey: unknown;
}

test("the client verifies the server against a CA file, and refuses an unknown issuer", async () => {
  const { caPem, certPem, keyPem } = await pki();
  const signed = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["moq-lite-05"], cert: { certPem, keyPem }, quic, log });
  const ok = await within(client.connect({ host: "127.0.0.1", port: signed.port, serverName: "localhost", alpns: ["moq-lite-05"], caPem }), 5000, "verified handshake");
  assert.equal(ok.protocol, "moq-lite-05");
  ok.close(0, "");
  // The relay's self-signed certificate is not issued by that CA.
  await assert.rejects(within(client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["moq-lite-05"], caPem }), 5000, "refused handshake"));
  await signed.close();
});
