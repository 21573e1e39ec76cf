// A real relay in its own Node process (started with --expose-gc), for tests that bound the
// relay's memory: `mem()` asks it to collect garbage and report heap, buffers and RSS. The
// process is the relay as users run it (startRelay with the config loader), plus a control line
// protocol on stdin/stdout that only this test fixture speaks.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { FlagValue } from "../../src/config/load.js";
import type { Heap } from "./heap.js";
import { ROOT } from "./spawn.js";

export interface RelayProcess {
  port: number;
  fingerprint: string;
  /** Heap and buffers after a full GC in the relay process, and its RSS. */
  mem(): Promise<Heap>;
  /** Lines the relay logged (JSON), when started with `log: true`. */
  readonly logLines: string[];
  close(): Promise<void>;
}

export async function startRelayProcess(flags: Record<string, FlagValue> = {}, opts: { log?: boolean; timeoutMs?: number } = {}): Promise<RelayProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "test/util/relay-process.child.ts", JSON.stringify(flags), opts.log === true ? "log" : ""], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const logLines: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    const text = d.toString();
    stderr += text;
    if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 16));
  });
  const waiters: Array<(line: string) => void> = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on("line", (line) => {
    if (line.startsWith("@")) waiters.shift()?.(line.slice(1));
    else logLines.push(line);
  });
  const next = (what: string, ms = opts.timeoutMs ?? 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay process: no ${what} within ${ms} ms\n${stderr.slice(-4000)}`)), ms);
      waiters.push((l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let ready: { port: number; fingerprint: string };
  try {
    ready = JSON.parse(await next("start-up line")) as { port: number; fingerprint: string };
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    ...ready,
    logLines,
    async mem() {
      const reply = next("memory reply");
      child.stdin?.write("mem\n");
      return JSON.parse(await reply) as Heap;
    },
    async close() {
      if (child.exitCode !== null) return;
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
