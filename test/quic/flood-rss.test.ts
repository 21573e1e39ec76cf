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
import { rssOf } from "../../bench/lib/stats.js";
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
/** What a second flood of the same size may add: memory is reused, not kept per Initial. */
const SECOND = 32 * MiB;

const relay = await startChildRelay(["--set", "log.level=warn"]);
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

test(`two floods of ${REAL + CRAFTED} QUIC Initials from ${ADDRESSES * 4} source ports keep the relay's RSS (all its processes) within ${BOUND / MiB} MiB (the second adds under ${SECOND / MiB} MiB), and a real client connects after each`, async () => {
  const pid = relay.child.pid;
  assert.ok(pid !== undefined);
  const fingerprint = (await (await fetch(`http://127.0.0.1:${relay.port}/certificate.sha256`)).text()).trim();
  await session(fingerprint);
  const before = rss(pid);
  let peak = before;
  const poll = setInterval(() => (peak = Math.max(peak, rss(pid))), 50);
  const peaks: number[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      await flood();
      assert.ok(relay.alive(), `the relay exited:\n${relay.stderr()}`);
      // Still serving: a real client gets a session while the flood's handshakes may still be open.
      await session(fingerprint);
      peaks.push((peak = Math.max(peak, rss(pid))));
    }
  } finally {
    clearInterval(poll);
  }
  if (process.env.MOQ_TEST_MEM) console.log("relay RSS MiB: before", (before / MiB).toFixed(1), "peaks", peaks.map((p) => (p / MiB).toFixed(1)));
  assert.ok(peaks[1] - before < BOUND, `relay RSS grew ${((peaks[1] - before) / MiB).toFixed(1)} MiB under the floods`);
  // Nothing a flood leaves behind accumulates: the second, as large as the first, adds little.
  assert.ok(peaks[1] - peaks[0] < SECOND, `the second flood added ${((peaks[1] - peaks[0]) / MiB).toFixed(1)} MiB`);
});
