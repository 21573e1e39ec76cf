// Run a node script as a user would (ours: bin/moq-token.js; theirs: @moq/token's cli.js), bounded in time.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const OUR_CLI = `${ROOT}bin/moq-token.js`;
export const THEIR_CLI = `${ROOT}node_modules/@moq/token/cli.js`;

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function exec(script: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Result> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} ${args.join(" ")} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** `moq-token ...args` (our CLI, built into dist/). */
export const ours = (args: string[], input?: string): Promise<Result> => exec(OUR_CLI, args, { input });
/** @moq/token@0.2.3's own CLI. */
export const theirs = (args: string[], input?: string): Promise<Result> => exec(THEIR_CLI, args, { input });
