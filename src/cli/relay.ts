// `moq-relay [config]`: load and validate the config, then run the relay until a signal asks it to
// drain. A user error prints one line and exits 2, never a stack trace; a start-up failure exits 1.
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { ConfigError } from "../config/errors.js";
import { loadConfig, NAMED_FLAGS, type FlagValue, type LoadResult } from "../config/load.js";
import { redact } from "../config/redact.js";
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

  if (args.check) {
    // `moq-relay --check | head` closes the pipe early; that is not an error worth a stack trace.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => process.exit(e.code === "EPIPE" ? 0 : 1));
    for (const w of warnings) process.stderr.write(`moq-relay: warning: ${w}\n`);
    process.stdout.write(`${args.file ?? "built-in development config"}: configuration OK\n`);
    process.stdout.write(`${JSON.stringify(redact(config), null, 2)}\n`);
    return;
  }

  const log = createLogger(config.log);
  installLastResort(log);
  if (config.file !== undefined) log.info({ file: config.file }, "configuration loaded");
  for (const w of warnings) log.warn(w);
  if (dev) warnDev(log, config, devKeys);

  let handle: RelayHandle;
  try {
    // Loaded only now: --help, --check and config errors stay fast and never touch the transports.
    const { startRelay } = await import("../server.js");
    handle = await startRelay(config, log);
  } catch (err) {
    log.fatal({ err }, "relay failed to start");
    process.exit(1);
  }
  runUntilSignal(handle, log, config.http.drain_timeout);
}
