// What the main process and a UDP worker process tell each other over the worker's IPC channel,
// beside the relay traffic itself (announcements, subscriptions, groups), which runs there as a
// moq-lite session (see link.ts, ipc.ts).
import type { Config } from "../config/types.js";
import type { Certificate } from "../transport/tls/cert.js";

/** Handed to a worker at start (its first message). */
export interface WorkerData {
  /** 0-based, shown as `worker` in its log lines and in /nodes. */
  index: number;
  config: Config;
  /** The main process's log format decision. */
  pretty: boolean;
  cert: Certificate;
  /** The UDP port to bind (with SO_REUSEPORT). */
  port: number;
  /** This worker's origin id (moq-lite hop id). */
  hop: bigint;
}

/** A worker's view, sent every STATS_INTERVAL ms and summed by the main process. */
export interface Snapshot {
  sessions: number;
  stats: Record<string, number>;
  counters: Record<CounterMap, Array<[string, number]>>;
  /** Tracks this worker holds an upstream subscription for (at most MAX_TRACKS of them). */
  tracks: Array<{ broadcast: string; track: string; viewers: number }>;
}

export type CounterMap = "opened" | "closed" | "errors" | "authRefusals" | "acceptFailures";
export const COUNTER_MAPS: readonly CounterMap[] = ["opened", "closed", "errors", "authRefusals", "acceptFailures"];

export const STATS_INTERVAL = 500;
export const MAX_TRACKS = 200;

export type ToWorker =
  | { type: "init"; data: WorkerData }
  /** Every worker serves: admit sessions (until then refused as the main process refuses them: starting). */
  | { type: "serving" }
  /** Draining: refuse new sessions, GOAWAY to the live ones. */
  | { type: "goaway" }
  /** Answer "empty" once no session is live. */
  | { type: "drain" }
  /** Close every live session. */
  | { type: "stop" }
  /** Release the socket and everything else, answer "closed", and exit. */
  | { type: "close" }
  | { type: "reload"; config: Config }
  | { type: "cert"; cert: Certificate }
  /** The relay-wide session limits refuse the slot the worker took as `id` (see admission.ts). */
  | { type: "refused"; id: number; reason: string }
  /** The answer to "check" `id`: the limit that would refuse the session, if any. */
  | { type: "checked"; id: number; reason?: string };

export type FromWorker =
  | { type: "ready"; port: number; serving: boolean }
  | { type: "failed"; message: string; code?: string; address?: string; port?: number; syscall?: string }
  | { type: "stats"; snapshot: Snapshot }
  | { type: "empty" }
  | { type: "reloaded" }
  | { type: "closed" }
  /** A session from `remote` took slot `id` on the worker: count it against the relay-wide limits. */
  | { type: "take"; id: number; remote: string }
  /** Slot `id` is given back (its session ended). */
  | { type: "release"; id: number }
  /** Would the relay-wide limits admit a session from `remote` now? (answered with "checked") */
  | { type: "check"; id: number; remote: string };
