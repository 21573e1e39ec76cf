// Helpers for the deployment tests: run commands as an operator would (bounded in time), start a
// relay from a command line and wait until it serves /health.
import { spawn, type ChildProcess } from "node:child_process";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { ROOT } from "../util/spawn.js";

export const NPM_ENV = { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
/** npm on a loaded 2-core machine: ~30 s from a warm cache; the rest is headroom. */
export const NPM_TIMEOUT = 150_000;

export function assertBuilt(): void {
  assert.ok(existsSync(join(ROOT, "dist/cli/relay.js")), "dist/ is missing: run `npm run build` first (npm test does)");
}

/** A copy of the checkout (sources and lock, no node_modules) to run npm in without touching ours. */
export function copyCheckout(dir: string, withDist: boolean): string {
  const copy = join(dir, "checkout");
  const entries = ["package.json", "package-lock.json", "README.md", "relay.toml.example", "tsconfig.json", "tsconfig.build.json", "bin", "native", "scripts", "src", "systemd"];
  if (withDist) entries.push("dist");
  for (const e of entries) cpSync(join(ROOT, e), join(copy, e), { recursive: true });
  return copy;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs: number;
}

/** Run `cmd args` to completion; rejects (after killing it) if it outlives `timeoutMs`. */
export function command(cmd: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${cmd} ${args.join(" ")} did not finish within ${opts.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Kill a detached child and everything it started (npm runs scripts in subshells). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** The `just` binary on PATH (Debian: apt-get install just), or undefined: tests that need it skip. */
export const JUST = ((): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir !== "" && existsSync(join(dir, "just"))) return join(dir, "just");
  return undefined;
})();
export const NO_JUST = JUST === undefined ? "the just binary is not installed (apt-get install just)" : false;

/** A temporary directory removed when the test ends. */
export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `moq-${prefix}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunningRelay {
  port: number;
  child: ChildProcess;
  /** Everything the relay wrote to stderr so far (its JSON log). */
  log(): string;
  /** SIGTERM, then wait for the exit code (bounded). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Start a relay from a full command line (as systemd or a shell would run it), wait for its
 * "relay listening" log line and return the port it reports. The child is killed when the test ends.
 */
export async function startRelayCommand(
  t: TestContext,
  argv: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunningRelay> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error("empty command line");
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let stderr = "";
  let stdout = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`relay did not log "relay listening" within ${opts.timeoutMs ?? 20_000} ms:\n${stdout}\n${stderr}`)),
      opts.timeoutMs ?? 20_000,
    );
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      for (const line of stderr.split("\n").slice(0, -1)) {
        if (!line.includes('"relay listening"')) continue;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`relay exited (${code ?? signal}) before listening:\n${stdout}\n${stderr}`));
    });
  });
  return {
    port,
    child,
    log: () => stderr,
    stop(timeoutMs = 10_000) {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`relay did not exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs);
        child.once("exit", (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill("SIGTERM");
      });
    },
  };
}

/** GET a URL with a deadline; returns status and body. */
export async function get(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.text() };
}
