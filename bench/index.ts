// `npm run bench`: throughput figures measured in one run on this machine, each relay figure set
// against a ceiling measured in the same run (so the ratios mean something on any hardware).
//   1. ceiling: raw WebSocket (ws) loopback throughput, one connection
//   2. relay over QMux/WebSocket: one publisher fanned out to N viewers (relay in a child process,
//      CPU sampled from /proc), egress MB/s and relay CPU
//   3. relay core alone: frames/s through the cache to 100 viewers, checking no payload is copied
import "../test/util/polyfill.js";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { Origin } from "../src/relay/origin.js";
import type { TrackSink } from "../src/relay/types.js";
import { DEFAULT_TRACK_INFO } from "../src/session/lite/track.js";
import { connect, publish, subscribe, waitAnnounced } from "../test/util/moq.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
// The JS client logs every connect and close to the console; keep the report readable.
const out = (line: string): void => void process.stdout.write(`${line}\n`);
for (const k of ["log", "info", "debug", "warn", "error"] as const) console[k] = () => undefined;
const MB = 1e6;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
}

async function wsCeiling(): Promise<number> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once("listening", r));
  const port = (wss.address() as { port: number }).port;
  let bytes = 0;
  wss.on("connection", (s) => s.on("message", (d: Buffer) => (bytes += d.length)));
  const c = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise((r) => c.once("open", r));
  const chunk = Buffer.alloc(64 * 1024, 1);
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    if (c.bufferedAmount < 8 * 1024 * 1024) c.send(chunk);
    else await new Promise((r) => setImmediate(r));
  }
  const start = bytes;
  await new Promise((r) => setTimeout(r, 200));
  c.close();
  wss.close();
  void start;
  return bytes / SECONDS / MB;
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s)
}

async function relayFanout(viewers: number, groupBytes: number): Promise<{ mbps: number; cpu: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["bin/moq-relay.js", "--bind", `127.0.0.1:${port}`, "--log-level", "warn"], { stdio: ["ignore", "ignore", "inherit"] });
  try {
    const url = new URL(`http://127.0.0.1:${port}/anon`);
    for (let i = 0; i < 50; i++) {
      const ok = await fetch(new URL("/health", url)).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const pub = await connect(url);
    const p = publish(pub, "bench", "video");
    const conns = await Promise.all(Array.from({ length: viewers }, () => connect(url)));
    await waitAnnounced(conns[0], "bench");
    let received = 0;
    let running = true;
    for (const c of conns) {
      const r = subscribe(c, "bench", "video");
      (async () => {
        while (running) {
          const g = await r.nextGroup(10_000).catch(() => undefined);
          if (g === undefined) return;
          for (const f of g.frames) received += f.length;
        }
      })().catch(() => undefined); // a viewer that fails just stops counting
    }
    await new Promise((r) => setTimeout(r, 300));
    const payload = new Uint8Array(groupBytes / 10).fill(3);
    const t0 = cpuTicks(child.pid as number);
    const r0 = received;
    const end = Date.now() + SECONDS * 1000;
    while (Date.now() < end) {
      p.group(Array.from({ length: 10 }, () => payload));
      await new Promise((r) => setTimeout(r, 20));
    }
    const mbps = (received - r0) / SECONDS / MB;
    const cpu = (cpuTicks(child.pid as number) - t0) / SECONDS; // percent of one core
    running = false;
    for (const c of [pub, ...conns]) c.close();
    return { mbps, cpu };
  } finally {
    child.kill("SIGKILL");
  }
}

function coreFanout(viewers: number): { framesPerSec: number; copies: number } {
  const o = new Origin({ cache: { max_bytes: 256 * 1024 * 1024, max_age: 30_000, linger: 1000 }, limits: { subscriber_queue_groups: 4 } });
  let sink: TrackSink | undefined;
  const source = {
    trackInfo: async () => DEFAULT_TRACK_INFO,
    subscribe: (_n: string, s: TrackSink) => ((sink = s), { update: () => undefined, close: () => undefined }),
  };
  const t = o.announce("b", source, []).track("v");
  let delivered = 0;
  let copies = 0;
  const payload = new Uint8Array(1200);
  for (let i = 0; i < viewers; i++) {
    t.subscribe({
      group: (cursor) => {
        const read = (): void => {
          const g = cursor.group;
          for (; cursor.index < g.payloads.length; cursor.index++) {
            delivered++;
            if (g.payloads[cursor.index] !== payload) copies++;
          }
        };
        cursor.onChange = read;
        read();
      },
      end: () => undefined,
      close: () => undefined,
    });
  }
  const end = Date.now() + SECONDS * 1000;
  let seq = 0;
  while (Date.now() < end) {
    const g = (sink as TrackSink).group(seq++);
    if (g === undefined) continue;
    for (let f = 0; f < 100; f++) g.append(f, payload);
    g.finish();
  }
  o.close();
  return { framesPerSec: delivered / SECONDS, copies };
}

const ceiling = await wsCeiling();
out(`\nmoq-relay benchmarks (${SECONDS}s each, node ${process.version}, ${(await import("node:os")).cpus().length} cores)\n`);
out(`ceiling  ws loopback, 1 connection              ${ceiling.toFixed(1).padStart(8)} MB/s`);
for (const n of [1, 10, 50]) {
  const r = await relayFanout(n, 100_000);
  const offered = (100_000 / 0.02 / MB) * n;
  out(`relay    QMux/WS fan-out 1 -> ${String(n).padEnd(3)} viewers      ${r.mbps.toFixed(1).padStart(8)} MB/s egress  ${(r.mbps / ceiling).toFixed(2)}x ceiling  (offered ${offered.toFixed(0)} MB/s)  relay CPU ${r.cpu.toFixed(0)}%`);
}
const core = coreFanout(100);
out(`core     cache fan-out to 100 viewers (no I/O)  ${(core.framesPerSec / 1e6).toFixed(2).padStart(8)} M frames/s  payload copies: ${core.copies}`);
out("");
