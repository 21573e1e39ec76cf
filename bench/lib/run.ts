// One benchmark row: a fresh relay process, a publisher, a warm cache and a baseline, then N
// viewers in other processes and a measured window; everything read from outside the relay.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import type { Transport, ViewersInit, ViewersReport } from "../viewers.js";
import { forkScript, kill, message, startRelay } from "./procs.js";
import { cpuBetween, cpuOf, Histogram, rssOf, type CpuUse } from "./stats.js";

export interface Preset {
  name: string;
  /** Offered rate per viewer, bits per second of payload. */
  bps: number;
  fps: number;
}

export const PRESETS: Record<string, Preset> = {
  audio: { name: "audio", bps: 64_000, fps: 50 },
  sd: { name: "sd", bps: 700_000, fps: 30 },
  hd: { name: "hd", bps: 5_000_000, fps: 30 },
  chat: { name: "chat", bps: 16_000, fps: 20 },
};

export interface RowSpec {
  transport: Transport;
  preset: Preset;
  viewers: number;
  groupMs: number;
  seconds: number;
  procs: number;
  /** Shorter warm-up and settle waits (CI smoke runs). */
  quick?: boolean;
  cpuProfDir?: string;
  /** Relay settings for this run (`key=value`, as `moq-relay --set` takes them). */
  set?: string[];
}

export interface Row {
  transport: Transport;
  preset: string;
  viewers: number;
  connected: number;
  offeredMbps: number;
  deliveredMbps: number;
  delivered: number;
  relay: CpuUse;
  gbpsPerCore: number;
  rssBaseMB: number;
  rssMB: number;
  rssPerViewerKB: number;
  p50: number;
  p99: number;
  groupStartP50: number;
  groupStartP99: number;
  resets: Record<string, number>;
  outOfOrder: number;
  clientCores: number;
  publisherCores: number;
  loadavg: number;
  errors: string[];
  profile?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runRow(spec: RowSpec, load: () => number): Promise<Row> {
  const frameBytes = Math.round(spec.preset.bps / 8 / spec.preset.fps);
  if (spec.cpuProfDir !== undefined) mkdirSync(spec.cpuProfDir, { recursive: true });
  const before = spec.cpuProfDir !== undefined ? new Set(readdirSync(spec.cpuProfDir)) : new Set<string>();
  const relay = await startRelay({ cpuProfDir: spec.cpuProfDir, set: spec.set });
  let pub: ChildProcess | undefined;
  const viewers: ChildProcess[] = [];
  try {
    pub = forkScript("publisher.ts", [String(relay.port), "/anon", "bench", "video", String(frameBytes), String(spec.preset.fps), String(spec.groupMs)]);
    await message(pub, (m) => m.ready, 60_000, "the publisher to connect");
    // Warm the cache (one viewer, two groups), then take the memory baseline; the other viewers
    // join the same processes afterwards.
    for (let i = 0; i < Math.max(1, Math.min(spec.procs, spec.viewers)); i++) viewers.push(forkScript("viewers.ts"));
    const warmJoined = await initViewers(viewers[0], spec.transport, relay.port, 1);
    await sleep(spec.quick ? 500 : Math.max(1000, 2 * spec.groupMs));
    const rssBase = rssOf(relay.pid);
    const rest = spec.viewers - 1;
    const joined = await Promise.all(
      viewers.map((v, i) => {
        const share = Math.floor(rest / viewers.length) + (i < rest % viewers.length ? 1 : 0);
        return share > 0 ? initViewers(v, spec.transport, relay.port, share) : Promise.resolve({ connected: 0, failed: 0 });
      }),
    );
    await sleep(spec.quick ? 500 : Math.max(1000, spec.groupMs)); // every viewer past its first (cached) group
    for (const v of viewers) v.send({ cmd: "start" });
    await Promise.all(viewers.map((v) => message(v, (m) => m.started, 5000, "viewers to start counting")));
    const c0 = cpuOf(relay.pid);
    const v0 = viewers.map((v) => cpuOf(v.pid as number));
    const p0 = cpuOf(pub.pid as number);
    await sleep(spec.seconds * 1000);
    const reports = await Promise.all(viewers.map((v) => { v.send({ cmd: "stop" }); return message(v, (m) => m.report as ViewersReport | undefined, 10_000, "a viewer report"); }));
    const c1 = cpuOf(relay.pid);
    const relayCpu = cpuBetween(c0, c1);
    const clientCores = viewers.reduce((n, v, i) => n + cpuBetween(v0[i], cpuOf(v.pid as number)).cores, 0);
    const publisherCores = cpuBetween(p0, cpuOf(pub.pid as number)).cores;
    const rss = rssOf(relay.pid);
    const wall = c1.at - c0.at;
    const lat = new Histogram();
    const gs = new Histogram();
    const resets: Record<string, number> = {};
    let payload = 0;
    let outOfOrder = 0;
    const errors: string[] = [];
    for (const r of reports) {
      lat.merge(r.latency);
      gs.merge(r.groupStart);
      payload += r.payloadBytes;
      outOfOrder += r.outOfOrder;
      for (const [code, n] of r.resets) resets[code] = (resets[code] ?? 0) + n;
      errors.push(...r.errors);
    }
    const connected = warmJoined.connected + joined.reduce((n, j) => n + j.connected, 0);
    const deliveredMbps = (payload * 8) / wall / 1e6;
    const offeredMbps = (spec.viewers * spec.preset.bps) / 1e6;
    return {
      transport: spec.transport,
      preset: spec.preset.name,
      viewers: spec.viewers,
      connected,
      offeredMbps,
      deliveredMbps,
      delivered: deliveredMbps / offeredMbps,
      relay: relayCpu,
      gbpsPerCore: relayCpu.cores > 0 ? deliveredMbps / 1000 / relayCpu.cores : 0,
      rssBaseMB: rssBase / 1e6,
      rssMB: rss / 1e6,
      rssPerViewerKB: spec.viewers > 1 ? (rss - rssBase) / (spec.viewers - 1) / 1024 : 0,
      p50: lat.quantile(0.5),
      p99: lat.quantile(0.99),
      groupStartP50: gs.quantile(0.5),
      groupStartP99: gs.quantile(0.99),
      resets,
      outOfOrder,
      clientCores,
      publisherCores,
      loadavg: load(),
      errors: [...new Set(errors)].slice(0, 3),
      profile: undefined,
    };
  } finally {
    for (const v of viewers) v.send({ cmd: "exit" });
    pub?.send({ cmd: "exit" });
    await sleep(200);
    await relay.stop();
    for (const v of viewers) kill(v);
    kill(pub);
    if (spec.cpuProfDir !== undefined) {
      const fresh = readdirSync(spec.cpuProfDir).filter((f) => f.endsWith(".cpuprofile") && !before.has(f));
      lastProfile = fresh.length > 0 ? `${spec.cpuProfDir}/${fresh[0]}` : undefined;
    }
  }
}

/** The profile file the last row's relay wrote (with --cpu-prof). */
export let lastProfile: string | undefined;

async function initViewers(c: ChildProcess, transport: Transport, port: number, count: number): Promise<{ connected: number; failed: number }> {
  const init: ViewersInit = { transport, port, root: "/anon", broadcast: "bench", track: "video", count };
  c.send({ cmd: "init", init });
  return message(c, (m) => (m.ready ? { connected: Number(m.connected), failed: Number(m.failed) } : undefined), 60_000 + count * 500, `${count} ${transport} viewers to connect`);
}
