// Structured logging: pino everywhere, JSON in production, pretty on a terminal.
// Field names are fixed across the code base: session, remote, path, protocol, transport, bytes, err.
import { createRequire } from "node:module";
import { pino, type Logger } from "pino";
import type { LogConfig } from "../config/types.js";

export type { Logger } from "pino";

export function createLogger(cfg: LogConfig, destination: NodeJS.WritableStream = process.stderr): Logger {
  const pretty = cfg.format === "pretty" || (cfg.format === "auto" && (destination as { isTTY?: boolean }).isTTY === true);
  if (pretty) {
    // pino-pretty as a synchronous stream: no worker thread, so short-lived CLIs flush before exit.
    return pino({ level: cfg.level, base: undefined }, prettyStream(destination));
  }
  return pino({ level: cfg.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

function prettyStream(destination: NodeJS.WritableStream): NodeJS.WritableStream {
  // Loaded lazily so JSON-only deployments never pay for it.
  const req = createRequire(import.meta.url);
  const build = req("pino-pretty") as (opts: object) => NodeJS.WritableStream;
  return build({ destination, colorize: true, sync: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" });
}


/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
