// Memory as the process sees it, for tests that prove a bound: scenarios run in a child Node
// process started with --expose-gc (runMeasured), which calls heapAfterGc() and prints its
// result as the last JSON line on stdout. Never an internal counter: what is measured is what the
// garbage collector could not free.
import { spawn } from "node:child_process";
import { ROOT } from "./spawn.js";

export interface Heap {
  /** V8 heap in use after a full GC (bytes). */
  heap: number;
  /** Memory held by ArrayBuffers (frame payloads live there), after the same GC. */
  buffers: number;
  rss: number;
}

/** Force full collections (the child must run with --expose-gc), then read the process's memory. */
export async function heapAfterGc(): Promise<Heap> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  // Let finalizers and pending callbacks run between collections.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}

export const MiB = 1024 * 1024;

/**
 * Run `script` (a path relative to the repository root) in `node --expose-gc --import tsx`,
 * bounded by `timeoutMs`, and return the JSON it printed last. Its stderr is included in errors.
 */
export function runMeasured<T>(script: string, args: string[] = [], timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", script, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not finish within ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) return reject(new Error(`${script} exited with ${code}\n${err}\n${out}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} printed no JSON result\n${out}\n${err}`));
      }
    });
  });
}
