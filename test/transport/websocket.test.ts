import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { get as httpGet } from "node:http";
import { request as httpsRequest } from "node:https";
import { TLSSocket } from "node:tls";
import QmuxSession from "@moq/qmux";
import { CertStore } from "../../src/transport/tls/cert.js";
import { TcpListener } from "../../src/transport/tcp.js";
import { WebSocketAcceptor } from "../../src/transport/websocket/server.js";
import { Router, text } from "../../src/http/router.js";
import type { Session } from "../../src/transport/session.js";
import { silentLogger } from "../../src/util/log.js";

const log = silentLogger();
const certs = await CertStore.create({ generate: ["localhost", "127.0.0.1"], fingerprints: [] }, log);
const tcp = await TcpListener.listen({ host: "127.0.0.1", port: 0, certs, log, maxConnections: 100 });
const router = new Router("*").get("/certificate.sha256", (_req, res) => text(res, 200, certs.current.fingerprint));
tcp.http.on("request", (req, res) => router.handle(req, res));
const sessions: Session[] = [];
const ws = new WebSocketAcceptor<string>({
  versions: ["moq-lite-05", "moq-lite-04"],
  pingInterval: 200,
  log,
  streamWindow: 1 << 20,
  connectionWindow: 4 << 20,
  maxStreams: 100,
  authorize: async ({ url }) => (url.pathname === "/denied" ? { ok: false, status: 401, reason: "no" } : { ok: true, value: url.pathname }),
  onSession: (s) => {
    sessions.push(s);
    // Echo every bidi stream back.
    s.onBidi = (b) => {
      b.recv.onData = (c) => {
        if (!b.send.write(c)) b.recv.pause();
      };
      b.send.onDrain = () => b.recv.resume();
      b.recv.onEnd = () => b.send.end();
      b.recv.onReset = (code) => b.send.reset(code);
    };
    s.onUni = (u) => {
      const parts: Uint8Array[] = [];
      u.onData = (c) => parts.push(c);
      u.onEnd = () => {
        void s.openUni().then((out) => {
          for (const p of parts) out.write(p);
          out.end();
        });
      };
    };
  },
});
tcp.http.on("upgrade", (req, socket, head) => ws.handleUpgrade(req, socket, head));
const port = tcp.port;
after(async () => {
  ws.close();
  await tcp.close();
  certs.close();
});

function fetchText(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown>; der?: Buffer }> {
  return new Promise((resolve, reject) => {
    const done = (res: import("node:http").IncomingMessage): void => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, der: res.socket instanceof TLSSocket ? res.socket.getPeerCertificate().raw : undefined }));
    };
    const req = url.startsWith("https") ? httpsRequest(url, { ca: certs.current.certPem, agent: false }, done) : httpGet(url, done);
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

async function readAll(r: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of r as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  return Buffer.concat(chunks);
}

test("one TCP port serves plain HTTP and HTTPS, with the certificate fingerprint", async () => {
  const plain = await fetchText(`http://127.0.0.1:${port}/certificate.sha256`);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers["access-control-allow-origin"], "*");
  const secure = await fetchText(`https://127.0.0.1:${port}/certificate.sha256`);
  assert.equal(secure.status, 200);
  assert.ok(secure.der);
  assert.equal(plain.body, createHash("sha256").update(secure.der).digest("hex"));
  assert.equal((await fetchText(`http://127.0.0.1:${port}/nope`)).status, 404);
});

test("QMux over WebSocket picks moq-lite-05 by our preference and echoes streams", async () => {
  const client = new QmuxSession(`ws://127.0.0.1:${port}/anon`, { protocols: ["moq-lite-04", "moq-lite-05"], versions: { "moq-lite-04": null, "moq-lite-05": null }, requireProtocol: true });
  await client.ready;
  assert.equal(client.protocol, "moq-lite-05");
  const bidi = await client.createBidirectionalStream();
  const big = Buffer.alloc(5 * 1024 * 1024, 7);
  big.write("start");
  const writer = bidi.writable.getWriter();
  const echoed = readAll(bidi.readable);
  for (let i = 0; i < big.length; i += 64 * 1024) await writer.write(big.subarray(i, i + 64 * 1024));
  await writer.close();
  assert.ok((await echoed).equals(big));

  const uni = await client.createUnidirectionalStream();
  const w = uni.getWriter();
  await w.write(new TextEncoder().encode("hello uni"));
  await w.close();
  const reader = client.incomingUnidirectionalStreams.getReader();
  const back = await reader.read();
  assert.ok(back.value);
  assert.equal((await readAll(back.value)).toString(), "hello uni");
  reader.releaseLock();

  const server = sessions.at(-1)!;
  assert.equal(server.protocol, "moq-lite-05");
  assert.equal(server.url.pathname, "/anon");
  server.close(6, "bye");
  const info = await client.closed;
  assert.equal(info.closeCode, 6);
  assert.equal(info.reason, "bye");
});

test("an authorize veto is a real HTTP status and no session", async () => {
  const before = sessions.length;
  const client = new QmuxSession(`ws://127.0.0.1:${port}/denied`, { protocols: ["moq-lite-05"], versions: { "moq-lite-05": null }, requireProtocol: true });
  await assert.rejects(client.ready);
  assert.equal(sessions.length, before);
});

test("an offer with no supported protocol gets 400", async () => {
  const client = new QmuxSession(`ws://127.0.0.1:${port}/anon`, { protocols: ["moqt-99"], versions: { "moqt-99": null }, requireProtocol: true });
  await assert.rejects(client.ready);
});
