// `npm run bench`: the relay as users run it (its own process), a publisher and lean viewers in
// other processes, and ceilings measured in the same run so ratios hold on any machine.
//   --transports ws,quic,wt   --preset audio|sd|hd|chat   --viewers 10,50,100,200 (a ramp)
//   --rate Mb/s (per viewer)  --group-ms 1000  --duration 5 (s)  --procs 2 (viewer processes)
//   --quick (CI smoke: 2 viewers, 2 s)  --json  --cpu-prof (relay profile + top self time)
//   --set key=value (a relay setting, repeatable: e.g. --set server.subscriber_queue_groups=2)
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import type { Transport } from "./viewers.js";
import { forkScript, kill, message, BENCH } from "./lib/procs.js";
import { topSelf } from "./lib/profile.js";
import { lastProfile, PRESETS, runRow, type Row } from "./lib/run.js";
import { loadavg } from "./lib/stats.js";
import { chart } from "./lib/svg.js";

const { values: a } = parseArgs({
  options: {
    transports: { type: "string", default: "ws,quic,wt" },
    preset: { type: "string", default: "hd" },
    viewers: { type: "string" },
    rate: { type: "string" },
    "group-ms": { type: "string", default: "1000" },
    duration: { type: "string" },
    procs: { type: "string", default: "2" },
    quick: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    set: { type: "string", multiple: true, default: [] },
    out: { type: "string", default: `${BENCH}results` },
  },
});

const preset = { ...(PRESETS[a.preset as string] ?? PRESETS.hd) };
if (a.rate !== undefined) preset.bps = Number(a.rate) * 1e6;
const transports = (a.transports as string).split(",").map((t) => t.trim()) as Transport[];
const ramp = (a.viewers ?? (a.quick ? "2" : "10,50,100,200")).split(",").map(Number);
const seconds = Number(a.duration ?? (a.quick ? 1 : 5));
const groupMs = Number(a["group-ms"]);
const procs = Math.max(1, Number(a.procs));
const log = (s: string): void => void (a.json ? process.stderr : process.stdout).write(`${s}\n`);

interface Ceilings {
  dgramPps: number;
  dgramGbpsPerCore: number;
  dgramKernel: number;
  wsGbps: number;
  wsGbpsPerCore: number;
}

/** node:dgram sender packet rate and a ws pair, each sender in its own process. */
async function ceilings(sec: number): Promise<Ceilings> {
  const rx = forkScript("ceiling.ts", ["dgram-recv"]);
  const wsRx = forkScript("ceiling.ts", ["ws-recv"]);
  try {
    const port = await message(rx, (m) => m.port as number | undefined, 15_000, "the dgram receiver");
    const tx = forkScript("ceiling.ts", ["dgram-send", String(port), String(sec)]);
    const d = await message(tx, (m) => (m.packets !== undefined ? (m as { packets: number; wall: number; cpu: number; kernel: number }) : undefined), sec * 1000 + 15_000, "the dgram sender");
    kill(tx);
    const wsPort = await message(wsRx, (m) => m.port as number | undefined, 15_000, "the ws receiver");
    const wtx = forkScript("ceiling.ts", ["ws-send", String(wsPort), String(sec)]);
    const w = await message(wtx, (m) => (m.bytes !== undefined ? (m as { bytes: number; wall: number; cpu: number }) : undefined), sec * 1000 + 15_000, "the ws sender");
    kill(wtx);
    return {
      dgramPps: d.packets / d.wall,
      dgramGbpsPerCore: (d.packets * 1200 * 8) / d.cpu / 1e9,
      dgramKernel: d.kernel,
      wsGbps: (w.bytes * 8) / w.wall / 1e9,
      wsGbpsPerCore: (w.bytes * 8) / w.cpu / 1e9,
    };
  } finally {
    kill(rx);
    kill(wsRx);
  }
}

/** The last viewer count that met the targets (≥ 95 % delivered, p99 under a group), and the first that did not. */
function knee(rows: Row[]): { ok: number | undefined; past: number | undefined } {
  let ok: number | undefined;
  for (const r of rows) {
    if (r.delivered >= 0.95 && r.p99 < groupMs) ok = r.viewers;
    else return { ok, past: r.viewers };
  }
  return { ok, past: undefined };
}

const f = (n: number, d = 1): string => (Number.isFinite(n) ? n.toFixed(d) : "-");
const ms = (n: number): string => (!Number.isFinite(n) ? "-" : n >= 1000 ? `${(n / 1000).toFixed(1)}s` : n >= 10 ? n.toFixed(0) : n.toFixed(1));

const started = new Date();
log(`moq-relay benchmark ${started.toISOString()}: node ${process.version}, ${cpus().length} cores, loadavg ${loadavg().toFixed(2)} at start`);
log(`preset ${preset.name}: ${f(preset.bps / 1e6, 3)} Mb/s per viewer, ${preset.fps} frames/s, groups of ${groupMs} ms; ${seconds} s windows; viewers in ${procs} process(es)`);
if ((a.set as string[]).length > 0) log(`relay settings: ${(a.set as string[]).join(" ")}`);
const ceil = await ceilings(a.quick ? 0.5 : 2);
log(`ceilings (same run): node:dgram sender ${f(ceil.dgramPps / 1000, 0)} k packets/s = ${f(ceil.dgramGbpsPerCore, 2)} Gb/s per core (kernel ${f(ceil.dgramKernel * 100, 0)} %); ws pair ${f(ceil.wsGbps, 2)} Gb/s, ${f(ceil.wsGbpsPerCore, 2)} Gb/s per sender core`);
log("");
log("transport viewers  offered  delivered      relay cores (kernel)  Gb/s/core  x ceiling  RSS MB (base)  kB/viewer  p50/p99 ms   group-start p50/p99  resets  clients  load");
const rows: Row[] = [];
const profDir = a["cpu-prof"] ? `${a.out}/prof` : undefined;
for (const t of transports) {
  const mine: Row[] = [];
  for (const n of ramp) {
    let r: Row;
    try {
      r = await runRow({ transport: t, preset, viewers: n, groupMs, seconds, procs, quick: a.quick, cpuProfDir: profDir, set: a.set as string[] }, loadavg);
    } catch (e) {
      log(`${t.padEnd(9)} ${String(n).padStart(7)}  failed: ${e instanceof Error ? e.message : String(e)}`);
      break;
    }
    r.profile = lastProfile;
    mine.push(r);
    rows.push(r);
    const ratio = r.gbpsPerCore / (t === "ws" ? ceil.wsGbpsPerCore : ceil.dgramGbpsPerCore);
    const resets = Object.entries(r.resets).map(([c, k]) => `${k}x${c}`).join(",") || "0";
    log(
      `${t.padEnd(9)} ${String(n).padStart(7)}  ${f(r.offeredMbps, 0).padStart(7)}  ${f(r.deliveredMbps, 0).padStart(7)} ${`(${f(r.delivered * 100, 0)}%)`.padStart(6)}  ${f(r.relay.cores, 2).padStart(8)} (${f(r.relay.kernel * 100, 0).padStart(2)} %)  ${f(r.gbpsPerCore, 2).padStart(9)}  ${f(ratio, 2).padStart(9)}  ${f(r.rssMB, 0).padStart(6)} (${f(r.rssBaseMB, 0)})  ${f(r.rssPerViewerKB, 0).padStart(9)}  ${`${ms(r.p50)}/${ms(r.p99)}`.padStart(11)}   ${`${ms(r.groupStartP50)}/${ms(r.groupStartP99)}`.padStart(12)}        ${resets.padStart(6)}  ${f(r.clientCores, 2).padStart(7)}  ${f(r.loadavg, 1)}${r.connected < n ? `  (${r.connected}/${n} connected: ${r.errors.join("; ")})` : ""}`,
    );
    if (r.profile !== undefined) {
      for (const s of topSelf(r.profile, 12)) log(`      ${f(s.share * 100, 1).padStart(5)} %  ${s.name} ${s.where}`);
    }
    // Two rows past the knee say enough; more only load the shared machine.
    if (mine.length >= 2 && mine.slice(-2).every((x) => x.delivered < 0.9)) break;
  }
  const k = knee(mine);
  if (mine.length > 0) log(`${t}: knee ${k.ok === undefined ? "below the first row" : `after ${k.ok} viewers`}${k.past === undefined ? " (not reached)" : `, ${k.past} viewers past it`}`);
}

mkdirSync(a.out as string, { recursive: true });
const caption = `${preset.name} ${f(preset.bps / 1e6, 2)} Mb/s per viewer, node ${process.version}, ${cpus().length} cores, ${started.toISOString()}`;
const stem = `${a.out}/bench-${preset.name}`;
writeFileSync(`${stem}.svg`, chart(rows, caption));
const result = { started: started.toISOString(), node: process.version, cores: cpus().length, preset, groupMs, seconds, ceilings: ceil, rows };
writeFileSync(`${stem}.json`, JSON.stringify(result, null, 2));
log(`\nwrote ${stem}.svg and ${stem}.json; loadavg ${loadavg().toFixed(2)} at the end`);
if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
