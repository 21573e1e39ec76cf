// The main process's side of `[server] workers = N`: N worker processes (worker.ts), each serving
// the relay's UDP side on its own SO_REUSEPORT socket on the relay's port, each linked to the main
// process's relay core (link.ts) over its IPC channel. To the rest of the server the pool is the
// UDP part: drain, close, reload and certificate changes reach every worker, and its views sum
// their numbers. Workers are processes rather than threads because the QUIC binding is not safe
// in several threads of one process (see worker.ts).
import { fork, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { LOG_LEVELS } from "../config/schema.js";
import type { Config } from "../config/types.js";
import type { Origin } from "../relay/origin.js";
import type { LiteSession } from "../session/lite/session.js";
import type { Admission } from "../server/admission.js";
import type { Part } from "../server/shutdown.js";
import type { CertStore } from "../transport/tls/cert.js";
import { loadNative } from "../transport/quic/native.js";
import { detach } from "../util/async.js";
import type { Logger } from "../util/log.js";
import { WorkerSlots } from "./admission.js";
import { IpcChannel, ofChild } from "./ipc.js";
import { startWorkerLink } from "./link.js";
import type { FromWorker, ToWorker, WorkerData } from "./messages.js";
import { WorkerViews } from "./views.js";

/** How long a worker may take to bind its socket, and to finish closing. */
const START_TIMEOUT = 30_000;
const CLOSE_TIMEOUT = 5_000;

/** SO_REUSEPORT on UDP sockets: node:dgram's `reusePort` (Node >= 22.12; 23.1 on the 23 line). */
export function hasReusePort(version = process.versions.node): boolean {
  const [major, minor] = version.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** How many UDP workers run, and why only one when that is so. */
export interface WorkerPlan {
  /** 1 means the UDP side stays in the main process (no pool). */
  count: number;
  /** With count 1: why, for the log and GET /workers. */
  note?: string;
  /** The note is something in the way of what was asked for (logged once at start). */
  blocked?: boolean;
}

export function workerPlan(config: Config): WorkerPlan {
  const s = config.server;
  const asked = s.workers === 0 ? availableParallelism() : s.workers;
  if (asked <= 1) return { count: 1, note: s.workers === 0 ? "this machine has one core" : "server.workers = 1" };
  if (!s.udp) return { count: 1, note: "UDP is off (server.udp = false)" };
  if (loadNative() === null) return { count: 1, note: "QUIC is unavailable on this platform" };
  const blocked = (why: string): WorkerPlan => ({ count: 1, note: `server.workers ${why}`, blocked: true });
  if (!hasReusePort()) return blocked("needs Node >= 22.12 for SO_REUSEPORT on UDP");
  if (s.engine === "fails-quiche") return blocked('needs our own QUIC engine (engine = "fails-quiche" is set)');
  // A peer dialing in over UDP would land on a worker, out of the cluster's sight: its one-link-
  // per-pair rule (and /nodes) would miss that link, and a peer told "duplicate" would redial at once.
  if (config.cluster.nodes.length + config.cluster.connect.length > 0) return blocked("does not combine with [cluster] yet");
  return { count: asked };
}

/** The UDP workers to run (see workerPlan), saying once why it is one when something is in the way. */
export function chooseWorkers(config: Config, log: Logger): WorkerPlan {
  const plan = workerPlan(config);
  if (plan.blocked === true) {
    const fields = { workers: config.server.workers, cores: availableParallelism(), node: process.versions.node };
    // The default (0: one per core) on an older Node or in a cluster is expected, not a mistake;
    // a number the operator wrote down that cannot be had deserves a warning.
    if (config.server.workers === 0) log.info(fields, `UDP served in the main process: ${plan.note}`);
    else log.warn(fields, `${plan.note}; serving UDP with one worker`);
  }
  return plan;
}

/** Each process's share of `[cache] max_bytes` when `workers` worker processes run beside the main one. */
export function cacheShare(maxBytes: number, workers: number): number {
  return workers > 1 ? Math.floor(maxBytes / (workers + 1)) : maxBytes;
}

/** `config` as a worker runs it: its share of the cache budget, and the main process's log level. */
export function workerConfig(config: Config, workers: number, level: string): Config {
  const logLevel = (LOG_LEVELS as readonly string[]).includes(level) ? (level as Config["log"]["level"]) : config.log.level;
  return { ...config, log: { ...config.log, level: logLevel }, cache: { ...config.cache, max_bytes: cacheShare(config.cache.max_bytes, workers) } };
}

interface Slot {
  worker: ChildProcess;
  ipc: IpcChannel<FromWorker, ToWorker>;
  link: LiteSession;
  /** Resolvers waiting for this worker's reply of a kind ("ready", "empty", "closed"). */
  waiting: Map<FromWorker["type"], Array<(m: FromWorker) => void>>;
  /** The worker's sessions, counted against the relay-wide session limits. */
  slots: WorkerSlots;
  exited: boolean;
}

export interface PoolEnv {
  config: Config;
  log: Logger;
  certs: CertStore;
  origin: Origin;
  /** The relay-wide session limits (the main process's TCP sessions and every worker's). */
  admission: Admission;
  /** The main process's origin id; each worker gets its own. */
  hop: bigint;
  newHop(): bigint;
}

export class WorkerPool implements Part {
  readonly views: WorkerViews;
  /** Set by start(): whether the workers serve QUIC, and on which port. */
  serving = false;
  port: number | undefined;
  private readonly slots: Slot[] = [];
  private closing = false;
  private unwatchCert: (() => void) | undefined;

  constructor(
    private readonly env: PoolEnv,
    readonly count: number,
  ) {
    this.views = new WorkerViews(count);
  }

  /** Start the workers on `port` (0: the first one picks it); resolves once all serve. */
  async start(port: number): Promise<this> {
    const { log } = this.env;
    try {
      const first = await this.spawn(0, port);
      const rest = await Promise.all(Array.from({ length: this.count - 1 }, (_, i) => this.spawn(i + 1, first.port)));
      this.serving = first.serving && rest.every((r) => r.serving);
      this.port = first.port;
      // Like the main process, no worker admits a session before every worker serves.
      this.broadcast({ type: "serving" });
      this.unwatchCert = this.env.certs.onChange((cert) => this.broadcast({ type: "cert", cert }));
      log.info({ workers: this.count, port: first.port }, "UDP served by worker processes (SO_REUSEPORT)");
      return this;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private spawn(index: number, port: number): Promise<{ port: number; serving: boolean }> {
    const { config, log, certs, origin, hop } = this.env;
    const pretty = config.log.format === "pretty" || (config.log.format === "auto" && process.stderr.isTTY === true);
    const data: WorkerData = { index, config: workerConfig(config, this.count, log.level), pretty, cert: certs.current, port, hop: this.env.newHop() };
    // Under tsx (tests, `npm run dev`) this module is TypeScript, and so is its sibling; the
    // child gets this process's node options (--import tsx among them).
    const entry = fileURLToPath(new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url));
    const worker = fork(entry, [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const ipc = new IpcChannel<FromWorker, ToWorker>(ofChild(worker));
    const link = startWorkerLink({ port: ipc.link, initiator: false, remote: `worker ${index}`, origin, config, hop, log });
    const slot: Slot = { worker, ipc, link, waiting: new Map(), slots: new WorkerSlots(this.env.admission), exited: false };
    this.slots[index] = slot;
    detach(link.run(), (err) => log.error({ err, worker: index }, "link to a worker failed"));
    ipc.onControl((m) => {
      if (m.type === "stats") this.views.snapshots[index] = m.snapshot;
      if (m.type === "take") {
        const refused = slot.slots.take(m.id, m.remote);
        if (refused !== undefined) ipc.send({ type: "refused", id: m.id, reason: refused });
      }
      if (m.type === "release") slot.slots.release(m.id);
      if (m.type === "check") ipc.send({ type: "checked", id: m.id, reason: this.env.admission.check(m.remote) });
      for (const fn of slot.waiting.get(m.type)?.splice(0) ?? []) fn(m);
    });
    worker.on("error", (err) => log.error({ err, worker: index }, "UDP worker process error"));
    worker.on("exit", (code, signal) => {
      slot.exited = true;
      slot.slots.releaseAll();
      for (const list of slot.waiting.values()) for (const fn of list.splice(0)) fn({ type: "closed" });
      if (!this.closing) {
        // A worker that died took its socket and sessions: exit so a supervisor restarts the
        // relay in a known state (as for a bug on the main process).
        log.fatal({ worker: index, code, signal }, "a UDP worker process ended: exiting");
        process.exit(70);
      }
    });
    ipc.send({ type: "init", data });
    return this.reply(slot, ["ready", "failed"], START_TIMEOUT).then((m) => {
      if (m.type === "ready") return { port: m.port, serving: m.serving };
      if (m.type === "failed") throw Object.assign(new Error(m.message), { code: m.code, address: m.address, port: m.port, syscall: m.syscall });
      throw new Error(`UDP worker ${index} ended before it served`);
    });
  }

  /** The worker's next message of one of `types` (or "closed" when it exits), within `ms`. */
  private reply(slot: Slot, types: Array<FromWorker["type"]>, ms: number): Promise<FromWorker> {
    if (slot.exited) return Promise.resolve({ type: "closed" });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`a UDP worker did not answer within ${ms} ms`)), ms);
      const done = (m: FromWorker): void => {
        clearTimeout(timer);
        for (const t of types) {
          const list = slot.waiting.get(t);
          const i = list?.indexOf(done) ?? -1;
          if (list !== undefined && i >= 0) list.splice(i, 1);
        }
        resolve(m);
      };
      for (const t of types) {
        let list = slot.waiting.get(t);
        if (list === undefined) slot.waiting.set(t, (list = []));
        list.push(done);
      }
    });
  }

  private broadcast(m: ToWorker): void {
    for (const s of this.slots) if (s !== undefined && !s.exited) s.ipc.send(m);
  }

  /** Apply a reloaded config's live keys in every worker (the main process logs the outcome). */
  async reload(next: Config): Promise<void> {
    const live = this.slots.filter((s) => s !== undefined && !s.exited);
    const waits = live.map((s) => this.reply(s, ["reloaded"], START_TIMEOUT));
    this.broadcast({ type: "reload", config: workerConfig(next, this.count, this.env.log.level) });
    try {
      await Promise.all(waits);
      this.env.log.info({ workers: live.length }, "configuration reloaded in every UDP worker");
    } catch (err) {
      this.env.log.error({ err }, "a UDP worker did not confirm the reload");
    }
  }

  // --- Part: drain and shutdown -------------------------------------------------------------------

  goaway(): void {
    this.broadcast({ type: "goaway" });
  }

  /** Resolves once no worker has a live session (the drain's deadline bounds the wait). */
  async whenEmpty(): Promise<void> {
    const waits = this.slots.filter((s) => s !== undefined && !s.exited).map((s) => this.reply(s, ["empty"], this.env.config.http.drain_timeout + CLOSE_TIMEOUT).catch(() => undefined));
    this.broadcast({ type: "drain" });
    await Promise.all(waits);
  }

  stopSessions(): void {
    this.broadcast({ type: "stop" });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unwatchCert?.();
    const live = this.slots.filter((s) => s !== undefined && !s.exited);
    const waits = live.map((s) => this.reply(s, ["closed"], CLOSE_TIMEOUT).catch(() => undefined));
    this.broadcast({ type: "close" });
    await Promise.all(waits);
    for (const s of this.slots) {
      if (s === undefined) continue;
      s.link.close(0, "relay shutting down");
      if (!s.exited) {
        // It exits on its own right after "closed"; one that does not within a second is killed.
        const gone = new Promise((r) => s.worker.once("exit", r));
        const timer = setTimeout(() => s.worker.kill("SIGKILL"), 1000);
        await gone;
        clearTimeout(timer);
      }
    }
  }
}
