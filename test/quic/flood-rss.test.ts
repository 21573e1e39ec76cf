// The relay as users run it (bin/moq-relay.js from dist/, its own process) under a QUIC Initial
// flood from another process: its resident memory stays within a stated bound, and a real client
// still connects and gets a MoQ session afterwards. Run `npm run build` first.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadConfig } from "../../src/config/load.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { Setup } from "../../src/session/lite/setup.js";
import { Uni } from "../../src/session/lite/stream.js";
import { Version } from "../../src/session/lite/version.js";
import { Writer } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { family, rssOf } from "../../bench/lib/stats.js";
import { startChildRelay } from "../util/child-relay.js";
import { MiB } from "../util/heap.js";
import { within } from "../util/moq.js";
import { ROOT } from "../util/spawn.js";

/** 4,000 genuine Initials (each a handshake the relay could start) and 60,000 crafted ones. */
const REAL = 4000;
const CRAFTED = 60_000;
const ADDRESSES = 50;
/**
 * What the floods may add to the relay's RSS. Without admission, 100,000 Initials left it at
 * 205 MiB. With the handshake caps (1,024 at once, 32 per address), Retry once half are taken,
 * and crafted Initials refused before quiche sees them (they used to cost a quiche connection
 * each: +80 MiB for the 60,000 here), one flood adds 45-70 MiB on a 2-core machine, most of it
 * the genuine handshakes' garbage not yet collected (RSS without a forced GC).
 */
const BOUND = 128 * MiB;
/**
 * What a second flood of the same size may add to what the first left behind: memory is reused,
 * not kept per Initial. Measured once each flood's half-open handshakes timed out and after a
 * full GC in every relay process: peak RSS also counts garbage and the handshakes still held,
 * which swung the second flood's peak by 10-50 MiB over the first's with two workers (Node 24).
 */
const SECOND = 32 * MiB;
/** How long the relay holds a handshake that never completes ([limits] handshake_timeout). */
const HANDSHAKE_TIMEOUT = loadConfig({ env: {}, flags: {} }).config.limits.handshake_timeout;

// gc-probe.mjs: on SIGUSR2 each relay process (workers inherit it) collects and reports its memory.
const relay = await startChildRelay(["--set", "log.level=warn"], ["--expose-gc", "--import", `${ROOT}test/cluster/gc-probe.mjs`]);
const client = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: loadConfig({ env: {}, flags: {} }).config.server.quic, log: silentLogger() });
after(async () => {
  await client.close();
  await relay.kill();
});

/** The relay's RSS: its main process and, with [server] workers (the default), the worker processes that take the flood. */
function rss(pid: number): number {
  assert.match(readFileSync(`/proc/${pid}/status`, "utf8"), /VmRSS:\s+\d+ kB/, "no VmRSS in /proc (Linux only)");
  return rssOf(pid);
}

interface Probe {
  pid: number;
  rss: number;
}

/** The gc-probe lines the relay's processes wrote so far. */
function probes(): Probe[] {
  return relay
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith('{"msg":"gc-probe"'))
    .map((l) => JSON.parse(l) as Probe);
}

/** RSS of the relay's processes, summed, each measured after a full GC in it. */
async function afterGc(pid: number): Promise<number> {
  const pids = family(pid);
  const count = (p: number): number => probes().filter((x) => x.pid === p).length;
  const before = new Map(pids.map((p) => [p, count(p)]));
  for (const p of pids) process.kill(p, "SIGUSR2");
  await within(
    (async () => {
      while (pids.some((p) => count(p) <= (before.get(p) ?? 0))) await new Promise((r) => setTimeout(r, 20));
    })(),
    10_000,
    "a gc-probe line from every relay process",
  );
  return pids.reduce((n, p) => n + (probes().filter((x) => x.pid === p).at(-1)?.rss ?? 0), 0);
}

/** A raw QUIC moq-lite-05 session: the handshake, our SETUP, and the relay's SETUP back. */
async function session(fingerprint: string): Promise<void> {
  const c = await within(client.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [fingerprint] }), 15_000, "a raw QUIC handshake");
  try {
    const theirs = new Promise<number>((resolve) => {
      c.onUni = (u) => (u.onData = (d) => resolve(d[0]));
    });
    const s = await c.openUni();
    const w = new Writer().varint(Uni.Setup);
    new Setup({ origin: 0x99n, path: "/anon" }).encode(w, Version.Lite05);
    s.write(w.finish());
    s.end();
    assert.equal(await within(theirs, 10_000, "the relay's SETUP stream"), Uni.Setup);
  } finally {
    c.close(0, "");
  }
}

/** Run the flood process to its end. */
async function flood(): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/quic/flood.child.ts", String(relay.port), String(ADDRESSES), String(REAL), String(CRAFTED)], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = await within(new Promise<number | null>((resolve) => child.once("exit", resolve)), 120_000, "the flood to finish").catch((e: unknown) => {
    child.kill("SIGKILL");
    throw e;
  });
  assert.equal(code, 0, `the flood process failed: ${err}`);
  assert.match(out, new RegExp(`sent ${REAL + CRAFTED}`));
}

test(`two floods of ${REAL + CRAFTED} QUIC Initials from ${ADDRESSES * 4} source ports keep the relay's RSS (all its processes) within ${BOUND / MiB} MiB (the second leaves under ${SECOND / MiB} MiB more behind), and a real client connects after each`, async () => {
  const pid = relay.child.pid;
  assert.ok(pid !== undefined);
  const fingerprint = (await (await fetch(`http://127.0.0.1:${relay.port}/certificate.sha256`)).text()).trim();
  await session(fingerprint);
  const before = rss(pid);
  let peak = before;
  const poll = setInterval(() => (peak = Math.max(peak, rss(pid))), 50);
  const peaks: number[] = [];
  const left: number[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      await flood();
      assert.ok(relay.alive(), `the relay exited:\n${relay.stderr()}`);
      // Still serving: a real client gets a session while the flood's handshakes may still be open.
      await session(fingerprint);
      peaks.push((peak = Math.max(peak, rss(pid))));
      // What the flood left behind: its handshakes expired, its garbage collected.
      await new Promise((r) => setTimeout(r, HANDSHAKE_TIMEOUT + 1000));
      left.push(await afterGc(pid));
    }
  } finally {
    clearInterval(poll);
  }
  const mib = (xs: number[]): string => xs.map((x) => (x / MiB).toFixed(1)).join(" ");
  if (process.env.MOQ_TEST_MEM) console.log(`relay RSS MiB: before ${mib([before])}, peaks ${mib(peaks)}, left after each flood (GC) ${mib(left)}`);
  assert.ok(peaks[1] - before < BOUND, `relay RSS grew ${((peaks[1] - before) / MiB).toFixed(1)} MiB under the floods`);
  // Nothing a flood leaves behind accumulates: the second, as large as the first, adds little.
  assert.ok(left[1] - left[0] < SECOND, `the second flood left ${((left[1] - left[0]) / MiB).toFixed(1)} MiB more behind (RSS after GC: ${mib(left)} MiB)`);
});
