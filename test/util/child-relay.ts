// The real moq-relay binary in a child process, for tests where a crash must be observable as a
// process exit (an in-process relay would take the test runner down with it).
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { ROOT } from "./spawn.js";
import { within } from "./moq.js";

export interface ChildRelay {
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the relay wrote to stderr so far. */
  stderr(): string;
  /** Bytes the relay wrote to stdout and stderr so far (all of them, not just what is kept). */
  written(): number;
  /** Resolves with the exit code if the process ends (it should not, in most tests). */
  readonly exited: Promise<number | null>;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/** A port free on 127.0.0.1 for both TCP and (very likely) UDP. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
    s.once("error", reject);
  });
}

/**
 * Start `bin/moq-relay.js` on a free loopback port and wait until /ready answers. `node` are
 * options for the node binary (worker processes inherit them).
 */
export async function startChildRelay(extra: string[] = [], node: string[] = []): Promise<ChildRelay> {
  const port = await freePort();
  const child = spawn(process.execPath, [...node, `${ROOT}bin/moq-relay.js`, "--bind", `127.0.0.1:${port}`, "--set", "http.drain_timeout=200ms", "--log-format", "json", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  let written = 0;
  child.stdout?.on("data", (d: Buffer) => {
    written += d.length;
  });
  child.stderr?.on("data", (d: Buffer) => {
    written += d.length;
    err += d.toString();
    if (err.length > 1 << 20) err = err.slice(-(1 << 19));
  });
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running = false;
      resolve(code);
    }),
  );
  const relay: ChildRelay = {
    port,
    child,
    stderr: () => err,
    written: () => written,
    exited,
    alive: () => running,
    async kill() {
      if (running) child.kill("SIGKILL");
      await within(exited, 5000, "the relay child to exit after SIGKILL");
    },
  };
  try {
    await within(
      (async () => {
        while (running) {
          if (await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.ok, () => false)) return;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`the relay exited before it was ready:\n${err}`);
      })(),
      15_000,
      "the relay child to become ready",
    );
  } catch (e) {
    await relay.kill();
    throw e;
  }
  return relay;
}
