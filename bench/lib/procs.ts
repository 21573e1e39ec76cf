// Child processes of the benchmark: the relay binary, publisher, viewers and ceiling probes, each
// with a bounded wait for its first message and a kill that is always reached.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const BENCH = fileURLToPath(new URL("../", import.meta.url));
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
    s.on("error", reject);
  });
}

/** A bench script (TypeScript, through tsx) in its own process with an IPC channel. */
export function forkScript(script: string, args: string[] = []): ChildProcess {
  const c = fork(`${BENCH}${script}`, args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });
  track(c);
  return c;
}

function track(c: ChildProcess): void {
  children.add(c);
  c.once("exit", () => children.delete(c));
}

/** The next IPC message `pick` accepts, or a rejection naming what was awaited. */
export function message<T>(c: ChildProcess, pick: (m: Record<string, unknown>) => T | undefined, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const onMsg = (m: unknown): void => {
      const v = pick(m as Record<string, unknown>);
      if (v !== undefined) done(undefined, v);
    };
    const onExit = (code: number | null): void => done(new Error(`${what}: process exited (${code})`));
    const done = (err?: Error, v?: T): void => {
      clearTimeout(timer);
      c.off("message", onMsg);
      c.off("exit", onExit);
      if (err) reject(err);
      else resolve(v as T);
    };
    c.on("message", onMsg);
    c.once("exit", onExit);
  });
}

export interface RelayProc {
  child: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** The real relay binary (dist/, built by `npm run build`) on a free loopback port. */
export async function startRelay(opts: { cpuProfDir?: string; set?: string[] } = {}): Promise<RelayProc> {
  const port = await freePort();
  const node = opts.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", opts.cpuProfDir] : [];
  const sets = ["http.drain_timeout=200ms", "limits.max_sessions=0", ...(opts.set ?? [])].flatMap((s) => ["--set", s]);
  const child = spawn(process.execPath, [...node, `${ROOT}bin/moq-relay.js`, "--bind", `127.0.0.1:${port}`, "--log-level", "error", "--log-format", "json", ...sets], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  track(child);
  const deadline = Date.now() + 60_000; // generous: a shared machine can be very busy
  for (;;) {
    if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode} during start-up`);
    // /ready, not /health: the relay refuses sessions until every listener serves (its UDP
    // worker processes start after the TCP listener).
    const ok = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("relay did not answer /ready within 60 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid as number,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

export function kill(c: ChildProcess | undefined): void {
  if (c !== undefined && c.exitCode === null) c.kill("SIGKILL");
}
