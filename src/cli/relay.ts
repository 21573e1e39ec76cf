// `moq-relay [--config] relay.toml`: load and validate the config, then run the relay until a
// signal asks it to drain. User errors print one line and exit 2; they never print a stack.
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { ConfigError } from "../config/errors.js";
import { loadConfig, type FlagValue } from "../config/load.js";
import { redact } from "../config/redact.js";
import { startRelay } from "../server.js";
import { createLogger } from "../util/log.js";

/** Named flags → config key paths. Everything else is reachable with --set section.key=value. */
const FLAG_KEYS: Record<string, string> = {
  bind: "server.bind",
  "log-level": "log.level",
  "log-format": "log.format",
  "tls-cert": "tls.cert",
  "tls-key": "tls.key",
  "tls-generate": "tls.generate",
  "auth-key": "auth.key",
  "auth-public": "auth.public",
  "cluster-node": "cluster.node",
  "cluster-nodes": "cluster.nodes",
  "cluster-token": "cluster.token",
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function fail(message: string, code: number): never {
  process.stderr.write(`moq-relay: ${message}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const parser = yargs(argv)
    .scriptName("moq-relay")
    .usage("$0 [config]\n\nRun a Media over QUIC relay. With no config, runs a development relay on 127.0.0.1:4443.")
    .option("config", { alias: "c", type: "string", describe: "config file (TOML)" })
    .option("check", { type: "boolean", default: false, describe: "validate the config, print the effective settings and exit" })
    .option("set", { type: "string", array: true, describe: "override any key: --set server.quic.idle_timeout=10s" })
    .option("bind", { type: "string", describe: "[server] bind" })
    .option("log-level", { type: "string", describe: "[log] level" })
    .option("log-format", { type: "string", describe: "[log] format" })
    .option("tls-cert", { type: "string", describe: "[tls] cert" })
    .option("tls-key", { type: "string", describe: "[tls] key" })
    .option("tls-generate", { type: "string", describe: "[tls] generate (comma-separated hosts)" })
    .option("auth-key", { type: "string", describe: "[auth] key" })
    .option("auth-public", { type: "string", describe: "[auth] public (comma-separated prefixes)" })
    .option("cluster-node", { type: "string", describe: "[cluster] node" })
    .option("cluster-nodes", { type: "string", describe: "[cluster] nodes (comma-separated URLs)" })
    .option("cluster-token", { type: "string", describe: "[cluster] token" })
    .strictOptions()
    .version(version())
    .help()
    .fail((msg, err) => fail(msg ?? err?.message ?? "invalid arguments", 2));
  const args = await parser.parse();

  const positional = args._.map(String);
  if (positional.length > 1) fail(`expected one config file, got ${positional.length}`, 2);
  if (positional.length === 1 && args.config !== undefined) fail("give the config file either as --config or as an argument, not both", 2);
  const file = args.config ?? positional[0];

  // Flag strings go through the same text conversion as environment variables (lists split on commas).
  const flags: Record<string, FlagValue> = {};
  for (const [flag, key] of Object.entries(FLAG_KEYS)) {
    const v = (args as Record<string, unknown>)[flag];
    if (typeof v === "string") flags[key] = v;
  }
  for (const kv of args.set ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) fail(`--set expects section.key=value, got "${kv}"`, 2);
    flags[kv.slice(0, i)] = kv.slice(i + 1);
  }

  let loaded;
  try {
    loaded = loadConfig({ file, flags, env: process.env });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
  const { config, dev, warnings } = loaded;

  if (args.check) {
    for (const w of warnings) process.stderr.write(`moq-relay: warning: ${w}\n`);
    process.stdout.write(`${config.file ?? "built-in development config"}: configuration OK\n`);
    process.stdout.write(`${JSON.stringify(redact(config), null, 2)}\n`);
    return;
  }

  const log = createLogger(config.log);
  for (const w of warnings) log.warn(w);
  if (dev) {
    log.warn(
      { bind: config.server.bind, public: config.auth.public },
      "no config file: development relay with a self-signed certificate and anonymous publish/subscribe under anon/",
    );
  }

  let handle;
  try {
    handle = await startRelay(config, log);
  } catch (e) {
    log.fatal({ err: e }, "relay failed to start");
    process.exitCode = 1;
    log.flush();
    setTimeout(() => process.exit(1), 50).unref();
    return;
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "draining");
    handle.close().then(
      () => {
        log.info("stopped");
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
