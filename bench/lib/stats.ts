// Measurement helpers shared by the benchmark's processes: a mergeable latency histogram and
// readings of a process's CPU time and memory from /proc (Linux), so the relay is measured from
// outside without any hook inside it.
import { readFileSync } from "node:fs";

/** Log-spaced buckets: 2 % wide from 10 µs to ~50 s; bounded memory, mergeable across processes. */
const STEP = Math.log(1.02);
const MIN_MS = 0.01;
const BUCKETS = Math.ceil(Math.log(50_000 / MIN_MS) / STEP) + 2;

export class Histogram {
  readonly counts: number[];
  total = 0;

  constructor(counts?: number[]) {
    this.counts = counts ?? new Array<number>(BUCKETS).fill(0);
    if (counts !== undefined) this.total = counts.reduce((a, b) => a + b, 0);
  }

  add(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / MIN_MS) / STEP));
    this.counts[i]++;
    this.total++;
  }

  merge(o: Histogram | number[]): void {
    const c = Array.isArray(o) ? o : o.counts;
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += c[i] ?? 0;
    this.total += Array.isArray(o) ? o.reduce((a, b) => a + b, 0) : o.total;
  }

  /** The q-quantile (0..1) in ms, NaN when empty: the bucket's upper edge. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const want = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= want) return i === 0 ? MIN_MS : MIN_MS * Math.exp(i * STEP);
    }
    return NaN;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

export interface CpuSample {
  user: number;
  system: number;
  at: number;
}

/** `pid` and its descendants (a relay with [server] workers > 1 runs UDP in child processes). */
export function family(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const c of readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, "utf8").split(" ")) if (c.trim() !== "") out.push(Number(c));
    } catch {
      // Gone meanwhile, or a kernel without CONFIG_PROC_CHILDREN: count what is readable.
    }
  }
  return out;
}

/** CPU time so far (seconds, user and kernel) of a process and its descendants, from /proc/<pid>/stat. */
export function cpuOf(pid: number): CpuSample {
  let user = 0;
  let system = 0;
  for (const p of family(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
      user += Number(fields[11]) / TICK;
      system += Number(fields[12]) / TICK;
    } catch {
      if (p === pid) throw new Error(`no process ${pid}`);
    }
  }
  return { user, system, at: performance.now() / 1000 };
}

export interface CpuUse {
  /** Cores used on average (1.0 = one core busy all the time). */
  cores: number;
  /** Share of that in the kernel (0..1). */
  kernel: number;
}

export function cpuBetween(a: CpuSample, b: CpuSample): CpuUse {
  const wall = b.at - a.at;
  const user = b.user - a.user;
  const sys = b.system - a.system;
  return { cores: wall > 0 ? (user + sys) / wall : 0, kernel: user + sys > 0 ? sys / (user + sys) : 0 };
}

/** Resident set size in bytes of a process and its descendants, from /proc/<pid>/status. */
export function rssOf(pid: number): number {
  let total = 0;
  for (const p of family(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      total += m ? Number(m[1]) * 1024 : 0;
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
}

/** The 1-minute load average and the core count: how busy the shared machine was. */
export function loadavg(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}
