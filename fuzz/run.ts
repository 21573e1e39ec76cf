// The fuzz driver: every target in fuzz/targets/*.ts (see target.ts for the contract) gets random
// and mutated inputs from a deterministic generator. A crash (an error the target does not name
// as its rejection) prints the input as hex and exits 1; so does a hang (one input taking more
// than a second). After each target: inputs run, time, and heap after GC (with --expose-gc).
//
//   npm run fuzz                                  # full mode: 1,000,000 inputs per target
//   npm run fuzz -- --target lite --time 30       # targets whose name contains "lite", 30 s each
//   npm run fuzz -- --target qmux                 # QMux over WebSocket through the relay's session
//   npm run fuzz -- --iterations 50000 --seed 7
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { FuzzTarget } from "./target.js";

export const HANG_MS = 1000;

export interface FuzzOptions {
  /** Stop after this many inputs. */
  iterations: number;
  /** Stop after this long (ms), whichever comes first. */
  timeMs: number;
  seed: number;
}

export interface FuzzResult {
  name: string;
  inputs: number;
  ms: number;
  /** Heap after GC at the end (bytes), when the process runs with --expose-gc. */
  heap?: number;
}

export class FuzzFailure extends Error {
  constructor(
    readonly target: string,
    readonly kind: "crash" | "hang",
    readonly input: Uint8Array,
    override readonly cause: unknown,
  ) {
    const why = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    super(`${target}: ${kind} on input (${input.length} bytes)\n${Buffer.from(input).toString("hex")}\n${why}`);
  }
}

/** xorshift32: fast, deterministic, good enough to pick mutations. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }
}

/** Values that tend to sit on boundaries of varints, lengths and counts. */
const INTERESTING = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff, 0xfe, 0x20, 0x21, 0x05, 0x06];

function randomBytes(rng: Rng, max: number): Uint8Array {
  const out = new Uint8Array(rng.below(max + 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.below(4) === 0 ? INTERESTING[rng.below(INTERESTING.length)] : rng.below(256);
  return out;
}

function mutate(rng: Rng, seeds: readonly Uint8Array[]): Uint8Array {
  const seed = seeds[rng.below(seeds.length)];
  let b = Array.from(seed);
  const rounds = 1 + rng.below(4);
  for (let k = 0; k < rounds; k++) {
    const at = rng.below(b.length + 1);
    switch (rng.below(8)) {
      case 0: // flip a bit
        if (b.length > 0) b[at % b.length] ^= 1 << rng.below(8);
        break;
      case 1: // an interesting byte
        if (b.length > 0) b[at % b.length] = INTERESTING[rng.below(INTERESTING.length)];
        break;
      case 2: // insert random bytes
        b.splice(at, 0, ...randomBytes(rng, 8));
        break;
      case 3: // delete a run
        b.splice(at, 1 + rng.below(8));
        break;
      case 4: // truncate
        b = b.slice(0, at);
        break;
      case 5: {
        // splice in part of another seed
        const other = seeds[rng.below(seeds.length)];
        const from = rng.below(other.length + 1);
        b.splice(at, 0, ...other.subarray(from, from + 1 + rng.below(32)));
        break;
      }
      case 6: {
        // duplicate a run
        const run = b.slice(at, at + 1 + rng.below(16));
        b.splice(at, 0, ...run);
        break;
      }
      default: // a random byte
        if (b.length > 0) b[at % b.length] = rng.below(256);
    }
  }
  return Uint8Array.from(b);
}

function isThenable(v: unknown): v is PromiseLike<void> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

function withHangLimit(p: PromiseLike<void>): Promise<"done" | "hang"> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve("hang"), HANG_MS);
    p.then(
      () => {
        clearTimeout(timer);
        resolve("done");
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Fuzz one target; throws FuzzFailure on the first crash or hang. */
export async function fuzzTarget(t: FuzzTarget, opts: FuzzOptions): Promise<FuzzResult> {
  const rng = new Rng(opts.seed);
  const started = Date.now();
  const deadline = started + opts.timeMs;
  const seeds = t.seeds.length > 0 ? t.seeds : [new Uint8Array(0)];
  let n = 0;
  for (; n < opts.iterations; n++) {
    // Check the clock every 256 inputs (Date.now per input costs more than many decoders).
    if ((n & 0xff) === 0 && Date.now() > deadline) break;
    const input = n < seeds.length ? seeds[n] : rng.below(4) === 0 ? randomBytes(rng, 256) : mutate(rng, seeds);
    const t0 = performance.now();
    try {
      const r = t.run(input);
      if (isThenable(r) && (await withHangLimit(r)) === "hang") throw new FuzzFailure(t.name, "hang", input, new Error(`no result within ${HANG_MS} ms`));
    } catch (err) {
      if (err instanceof FuzzFailure) throw err;
      if (!t.expected(err)) throw new FuzzFailure(t.name, "crash", input, err);
    }
    if (performance.now() - t0 > HANG_MS) throw new FuzzFailure(t.name, "hang", input, new Error(`one input took over ${HANG_MS} ms`));
  }
  const result: FuzzResult = { name: t.name, inputs: n, ms: Date.now() - started };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    result.heap = process.memoryUsage().heapUsed;
  }
  return result;
}

/** Every target in fuzz/targets (each file exports `target`, or `targets` for several). */
export async function loadTargets(filter?: string): Promise<FuzzTarget[]> {
  const dir = fileURLToPath(new URL("./targets/", import.meta.url));
  const out: FuzzTarget[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(ts|js)$/.test(f) || f.endsWith(".d.ts")) continue;
    const mod = (await import(pathToFileURL(`${dir}${f}`).href)) as { target?: FuzzTarget; targets?: FuzzTarget[] };
    for (const t of [...(mod.target === undefined ? [] : [mod.target]), ...(mod.targets ?? [])]) {
      if (filter === undefined || t.name.includes(filter)) out.push(t);
    }
  }
  return out;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const targets = await loadTargets(arg("target"));
  if (targets.length === 0) throw new Error(`no fuzz target matches "${arg("target") ?? ""}"`);
  const time = arg("time");
  const opts: FuzzOptions = {
    iterations: Number(arg("iterations") ?? (time === undefined ? 1_000_000 : Number.MAX_SAFE_INTEGER)),
    timeMs: time === undefined ? Number.MAX_SAFE_INTEGER : Number(time) * 1000,
    seed: Number(arg("seed") ?? 1),
  };
  for (const t of targets) {
    const r = await fuzzTarget(t, opts);
    const heap = r.heap === undefined ? "n/a (run with --expose-gc)" : `${(r.heap / 1048576).toFixed(1)} MiB`;
    console.log(`${r.name.padEnd(28)} ${String(r.inputs).padStart(9)} inputs  ${(r.ms / 1000).toFixed(1).padStart(7)} s  heap after GC ${heap}`);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
