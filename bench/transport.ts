// `npm run bench:transport`: our QUIC engine against ceilings measured in the same run.
//   dgram   node:dgram loopback: 1200-byte datagrams, sender and receiver in this process
//   tls     node:tls loopback stream (TCP + TLS 1.3), both ends in this process
//   quic    our engine, client and server in this process: 1 stream, then 100 streams
//   fan-out the server sends one 5 Mb/s stream to N sessions whose clients live in a child
//           process; server load is this process's event-loop utilisation
// Both ends of the first three share one thread, so the ratios compare like with like.
import "../src/util/node20.js";
import { createSocket } from "node:dgram";
import { createServer as createTlsServer, connect as tlsConnect } from "node:tls";
import { performance } from "node:perf_hooks";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { QuicEndpoint } from "../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../src/transport/quic/connection.js";
import { CertStore } from "../src/transport/tls/cert.js";
import { silentLogger } from "../src/util/log.js";
import { QUIC } from "./quic-config.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const MB = 1e6;
const log = silentLogger();
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function dgramCeiling(): Promise<number> {
  const rx = createSocket("udp4");
  const tx = createSocket("udp4");
  await new Promise<void>((r) => rx.bind(0, "127.0.0.1", r));
  let bytes = 0;
  rx.on("message", (m) => (bytes += m.length));
  const port = rx.address().port;
  const packet = Buffer.alloc(1200, 1);
  const end = Date.now() + SECONDS * 1000;
  // Bursts per event-loop turn, so the receiver (same thread) gets its share of the loop.
  while (Date.now() < end) {
    for (let i = 0; i < 128; i++) tx.send(packet, port, "127.0.0.1");
    await new Promise((r) => setImmediate(r));
  }
  await sleep(100);
  rx.close();
  tx.close();
  return bytes / SECONDS / MB;
}

async function tlsStream(certs: CertStore): Promise<number> {
  const server = createTlsServer({ cert: certs.current.certPem, key: certs.current.keyPem });
  let bytes = 0;
  server.on("secureConnection", (s) => s.on("data", (d: Buffer) => (bytes += d.length)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const c = tlsConnect({ port, host: "127.0.0.1", rejectUnauthorized: false });
  await new Promise((r) => c.once("secureConnect", r));
  const chunk = Buffer.alloc(64 * 1024, 2);
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    if (!c.write(chunk)) await new Promise((r) => c.once("drain", r));
  }
  const total = bytes;
  c.destroy();
  server.close();
  return total / SECONDS / MB;
}

async function quicStreams(certs: CertStore, streams: number): Promise<number> {
  const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["bench"], cert: certs.current, quic: QUIC, log });
  let bytes = 0;
  server.onConnection = (c) => {
    c.onBidi = (b) => (b.recv.onData = (d) => (bytes += d.length));
  };
  const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: QUIC, log });
  const c = await client.connect({ host: "127.0.0.1", port: server.port, serverName: "localhost", alpns: ["bench"], insecure: true });
  const chunk = new Uint8Array(64 * 1024);
  const end = Date.now() + SECONDS * 1000;
  const senders = await Promise.all(Array.from({ length: streams }, () => c.openBidi()));
  await Promise.all(
    senders.map(
      (s) =>
        new Promise<void>((resolve) => {
          const pump = (): void => {
            while (Date.now() < end) if (!s.send.write(chunk)) return;
            resolve();
          };
          s.send.onDrain = pump;
          pump();
        }),
    ),
  );
  const total = bytes;
  c.close(0, "");
  await client.close();
  await server.close();
  return total / SECONDS / MB;
}

/** One 5 Mb/s track fanned out to `n` sessions; clients run in a child process. */
async function fanout(certs: CertStore, n: number): Promise<{ egress: number; busy: number }> {
  const server = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, alpns: ["bench"], cert: certs.current, quic: QUIC, log });
  const sessions: QuicConnection[] = [];
  server.onConnection = (c) => sessions.push(c);
  const worker = fork(fileURLToPath(new URL("./transport-clients.ts", import.meta.url)), [String(server.port), String(n)], { execArgv: ["--import", "tsx"] });
  const received = new Promise<number>((resolve) => worker.on("message", (m: { bytes?: number }) => m.bytes !== undefined && resolve(m.bytes)));
  await new Promise<void>((resolve) => worker.on("message", (m: { ready?: boolean }) => m.ready === true && resolve()));
  // 5 Mb/s = 625 kB/s per session: a 31.25 kB group every 50 ms, on its own stream like MoQ.
  const group = new Uint8Array(31_250);
  const start = performance.eventLoopUtilization();
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    for (const s of sessions) s.openUni().then((u) => (u.write(group), u.end()), () => undefined); // a closed session just stops counting
    await sleep(50);
  }
  const busy = performance.eventLoopUtilization(start).utilization;
  worker.send("stop");
  const bytes = await received;
  worker.kill();
  await server.close();
  return { egress: bytes / SECONDS / MB, busy };
}

const certs = await CertStore.create({ generate: ["localhost"], fingerprints: [] }, log);
out(`\nQUIC transport benchmarks (${SECONDS}s each, node ${process.version})\n`);
const dgram = await dgramCeiling();
out(`dgram    loopback ceiling, 1200-byte datagrams     ${dgram.toFixed(1).padStart(8)} MB/s`);
const tls = await tlsStream(certs);
out(`tls      node:tls loopback stream                  ${tls.toFixed(1).padStart(8)} MB/s   ${(tls / dgram).toFixed(2)}x dgram`);
for (const n of [1, 100]) {
  const q = await quicStreams(certs, n);
  out(`quic     our engine, ${String(n).padEnd(3)} stream(s)                ${q.toFixed(1).padStart(8)} MB/s   ${(q / dgram).toFixed(2)}x dgram`);
}
for (const n of [10, 50, 100]) {
  const f = await fanout(certs, n);
  out(`fan-out  5 Mb/s to ${String(n).padEnd(3)} sessions                 ${f.egress.toFixed(1).padStart(8)} MB/s   (offered ${(0.625 * n).toFixed(1)}) server loop busy ${(f.busy * 100).toFixed(0)}%`);
}
certs.close();
out("");
