// Reads a V8 .cpuprofile (node --cpu-prof) and totals self time per function, so `--cpu-prof`
// can print where the relay spent its time without opening a profiler UI.
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  share: number;
}

export function topSelf(file: string, n = 15): SelfTime[] {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, SelfTime>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]);
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    if (node === undefined) continue;
    total += dt;
    const f = node.callFrame;
    const where = f.url === "" ? "" : `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    const key = `${f.functionName}@${where}`;
    const e = self.get(key) ?? { name: f.functionName || "(anonymous)", where, ms: 0, share: 0 };
    e.ms += dt;
    self.set(key, e);
  }
  const all = [...self.values()].sort((a, b) => b.ms - a.ms);
  for (const e of all) e.share = total > 0 ? e.ms / total : 0;
  return all.slice(0, n);
}
