// `moq-relay [config]`: load and validate the config, then run the relay until a signal asks it to
// drain. A user error prints one line and exits 2, never a stack trace; a start-up failure exits 1.
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { ConfigError } from "../config/errors.js";
import { loadConfig, NAMED_FLAGS, type FlagValue, type LoadResult } from "../config/load.js";
import { redact } from "../config/redact.js";
import { reloadTable } from "../config/diff.js";
import { FileProblem, preflight } from "./preflight.js";
import type { Config } from "../config/types.js";
import type { RelayHandle } from "../server.js";
import { createLogger, type Logger } from "../util/log.js";

const USAGE = `$0 [config]

Run a Media over QUIC relay: WebTransport and raw QUIC on UDP, QMux over WebSocket and HTTP on TCP,
both on the port of [server] bind. With no config file, runs a development relay on 127.0.0.1:4443
with a self-signed certificate and anonymous access under anon/.

Every key in the file can be overridden with MOQ_<SECTION>_<KEY> (e.g. MOQ_SERVER_BIND) or
--set section.key=value. Precedence: flag > environment > file > default.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function fail(message: string, code: number): never {
  process.stderr.write(`moq-relay: ${message}\n`);
  process.exit(code);
}

interface Args {
  file: string | undefined;
  check: boolean;
  flags: Record<string, FlagValue>;
}

async function parseArgs(argv: string[]): Promise<Args> {
  let parser = yargs(argv)
    .scriptName("moq-relay")
    .usage(USAGE)
    // Keep flag names as typed ("log-level"), so they map 1:1 onto NAMED_FLAGS.
    .parserConfiguration({ "camel-case-expansion": false })
    .option("config", { alias: "c", type: "string", describe: "config file (TOML); also accepted as the first argument" })
    .option("check", { type: "boolean", default: false, describe: "validate the config, print the effective settings (secrets redacted) and exit" })
    // Not `array: true`: that would swallow a following positional config path. Repeating works.
    .option("set", { type: "string", describe: "set any key, repeatable: --set server.quic.idle_timeout=10s" });
  for (const [flag, { key, describe }] of Object.entries(NAMED_FLAGS)) {
    parser = parser.option(flag, { type: "string", describe: `${describe} [${key}]` });
  }
  const args = (await parser
    .strictOptions()
    .version(version())
    .alias("h", "help")
    .help()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => fail(`${msg ?? err?.message ?? "invalid arguments"} (see --help)`, 2))
    .parse()) as Record<string, unknown> & { _: (string | number)[] };

  const positional = args._.map(String);
  if (positional.length > 1) fail(`expected one config file, got ${positional.length}: ${positional.join(" ")}`, 2);
  const named = args.config;
  if (Array.isArray(named)) fail("give --config once", 2);
  if (positional.length === 1 && named !== undefined) fail("give the config file either as --config or as an argument, not both", 2);

  const flags: Record<string, FlagValue> = {};
  for (const flag of ["set", ...Object.keys(NAMED_FLAGS)]) {
    const v = args[flag];
    if (typeof v === "string") flags[flag] = v;
    else if (Array.isArray(v)) flags[flag] = v.map(String);
  }
  return { file: typeof named === "string" ? named : positional[0], check: args.check === true, flags };
}

function warnDev(log: Logger, config: Config, devKeys: string[]): void {
  const what: string[] = [];
  if (devKeys.includes("server.bind")) what.push(`listening on ${config.server.bind} (loopback only)`);
  if (devKeys.includes("tls.generate")) what.push("a self-signed certificate");
  if (devKeys.includes("auth.public")) what.push("anonymous publish and subscribe under anon/");
  log.warn(
    { bind: config.server.bind, public: config.auth.public, generate: config.tls.generate },
    `no config file: development defaults: ${what.join(", ")}; pass a config file for production`,
  );
}

/**
 * The last resort. Nothing a peer sends may reach here (every background promise is detached with
 * a handler, and malformed input closes only its session), so arriving here is a relay bug: log it
 * with its stack at fatal and exit non-zero, so systemd restarts a relay in a known state rather
 * than one running on with half its invariants broken.
 */
function installLastResort(log: Logger): void {
  const die = (kind: string) => (err: unknown): void => {
    log.fatal({ err: err instanceof Error ? err : new Error(String(err)), kind }, "relay bug: exiting");
    // pino's default destination is synchronous, so the line is out before exit.
    process.exit(70); // EX_SOFTWARE
  };
  process.on("unhandledRejection", die("unhandledRejection"));
  process.on("uncaughtException", die("uncaughtException"));
}

/** Run the relay until SIGTERM/SIGINT; the first drains, a second exits at once. */
function runUntilSignal(handle: RelayHandle, log: Logger, drainMs: number): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "draining");
    // close() honours http.drain_timeout; this guard only catches a close that hangs regardless.
    setTimeout(() => {
      log.error({ signal }, "shutdown did not finish in time: exiting");
      process.exit(1);
    }, drainMs + 5_000).unref();
    handle.close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

export async function main(argv: string[]): Promise<void> {
  const args = await parseArgs(argv);

  let loaded: LoadResult;
  try {
    loaded = loadConfig({ file: args.file, flags: args.flags, env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
  const { config, dev, devKeys, warnings } = loaded;

  // Every file the relay will read, read now: one line naming the file, exit 2.
  let notes: string[];
  try {
    notes = await preflight(config);
  } catch (e) {
    if (e instanceof FileProblem) fail(e.message, 2);
    throw e;
  }
  const everything = opensEverything(config);

  if (args.check) {
    // `moq-relay --check | head` closes the pipe early; that is not an error worth a stack trace.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));
    for (const w of [...warnings, ...notes, ...(everything === undefined ? [] : [everything])]) process.stderr.write(`moq-relay: warning: ${w}\n`);
    process.stdout.write(`${args.file ?? "built-in development config"}: configuration OK\n`);
    const table = reloadTable();
    process.stdout.write(`reload (SIGHUP) applies: ${table.live.join(", ")}\n`);
    process.stdout.write(`reload (SIGHUP) ignores until a restart: ${table.restart.join(", ")}\n`);
    process.stdout.write(`${JSON.stringify(redact(config), null, 2)}\n`);
    return;
  }

  const log = createLogger(config.log);
  installLastResort(log);
  if (config.file !== undefined) log.info({ file: config.file }, "configuration loaded");
  for (const w of [...warnings, ...notes]) log.warn(w);
  if (dev) warnDev(log, config, devKeys);
  if (everything !== undefined) log.warn({ public: config.auth.public }, everything);

  let handle: RelayHandle;
  try {
    // Loaded only now: --help, --check and config errors stay fast and never touch the transports.
    const { startRelay } = await import("../server.js");
    handle = await startRelay(config, log);
  } catch (err) {
    // One line naming the cause (port in use, permission denied), never a stack trace.
    fail(startFailure(err, config), 1);
  }
  runUntilSignal(handle, log, config.http.drain_timeout);
  reloadOnHangup(handle, log, args);
}

/** The warning for `public = ""` (or "/"): anyone may publish and subscribe anywhere. */
function opensEverything(config: Config): string | undefined {
  const { publish, subscribe } = config.auth.public;
  const sides = [publish.includes("") ? "publish" : "", subscribe.includes("") ? "subscribe" : ""].filter((s) => s !== "");
  if (sides.length === 0) return undefined;
  return `auth.public opens every path: anyone may ${sides.join(" and ")} anything without a token`;
}

/** A start-up failure as one line: what failed, on what, and the errno name. */
export function startFailure(err: unknown, config: Config): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = e.address !== undefined ? `${e.address.includes(":") ? `[${e.address}]` : e.address}:${e.port ?? ""}` : config.server.bind;
  switch (e.code) {
    case "EADDRINUSE":
      return `cannot listen on ${where}: address already in use (EADDRINUSE); another process holds the port`;
    case "EADDRNOTAVAIL":
      return `cannot listen on ${where}: no such local address (EADDRNOTAVAIL)`;
    case "EACCES":
    case "EPERM":
      if (e.syscall === "listen" || e.syscall === "bind") return `cannot listen on ${where}: permission denied (${e.code}); ports below 1024 need CAP_NET_BIND_SERVICE`;
      return `cannot read ${e.path ?? "a file"}: permission denied (${e.code})`;
    case "ENOENT":
      return `${e.path ?? "a file"}: no such file (ENOENT)`;
    default:
      return `relay failed to start: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
  }
}

/** SIGHUP: load the same file with the same flags and environment, check its files, apply it. */
function reloadOnHangup(handle: RelayHandle, log: Logger, args: Args): void {
  let queue = Promise.resolve();
  process.on("SIGHUP", () => {
    queue = queue.then(async () => {
      log.info({ file: args.file }, "SIGHUP: reloading the configuration");
      let next: Config;
      try {
        next = loadConfig({ file: args.file, flags: args.flags, env: process.env }).config;
        await preflight(next);
      } catch (e) {
        if (e instanceof ConfigError || e instanceof FileProblem) {
          log.error({ problem: e.message }, "reload refused: the running configuration stays");
          return;
        }
        throw e;
      }
      await handle.reload(next);
      const everything = opensEverything(next);
      if (everything !== undefined) log.warn({ public: next.auth.public }, everything);
    }).catch((err: unknown) => log.error({ err }, "reload failed; the running configuration stays"));
  });
}
