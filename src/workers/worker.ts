// A UDP worker process: the relay's UDP side (WebTransport over HTTP/3, raw QUIC) on its own socket
// bound to the relay's port with SO_REUSEPORT, its own relay core, and a moq-lite link to the main
// process's (link.ts) over the IPC channel. Admission, auth and session bookkeeping are its own;
// the main process drives drain, reload and certificate changes with the messages in messages.ts,
// checks the relay-wide session limits (admission.ts), and sums the snapshots this one sends.
// A process, not a worker thread: the QUIC binding
// (@matrixai/quic, napi-rs 2.10) keeps process-global state; loaded in the main thread and a
// worker, or in three workers, exchanging stream data crashes the process (segfault, or V8's
// kGlobalHandleZapValue check in napi_reference_unref).
import "../util/node20.js";
import { Authenticator } from "../auth/authorize.js";
import { Origin } from "../relay/origin.js";
import { makeAccept } from "../server/accept.js";
import type { RelayContext } from "../server/context.js";
import { ServerCounters } from "../server/counters.js";
import { makeGate } from "../server/gate.js";
import { reloadConfig } from "../server/reload.js";
import { SessionRegistry } from "../server/sessions.js";
import { startUdp, type UdpContext, type UdpSide } from "../server/udp.js";
import type { Certificate } from "../transport/tls/cert.js";
import { detach } from "../util/async.js";
import { createLogger, silentLogger, type Logger } from "../util/log.js";
import { WorkerAdmission } from "./admission.js";
import { IpcChannel, ofProcess } from "./ipc.js";
import { startWorkerLink } from "./link.js";
import { COUNTER_MAPS, MAX_TRACKS, STATS_INTERVAL, type FromWorker, type Snapshot, type ToWorker, type WorkerData } from "./messages.js";

/** The certificate the main process holds, and its changes (rotation, renewal) as they arrive. */
class WorkerCerts {
  private readonly listeners = new Set<(c: Certificate) => void>();
  constructor(public current: Certificate) {}
  onChange(fn: (c: Certificate) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  /** Certificate files are re-read by the main process, which sends the result. */
  rotate(): Promise<Certificate> {
    return Promise.resolve(this.current);
  }
  set(c: Certificate): void {
    this.current = c;
    for (const fn of this.listeners) fn(c);
  }
}

if (process.send === undefined) throw new Error("src/workers/worker.ts runs as a child process of the relay only");
const ipc = new IpcChannel<ToWorker, FromWorker>(ofProcess());
// Signals are the main process's to act on (a terminal's Ctrl-C or systemd's control-group kill
// reach every process): a worker drains when the main process tells it to, and ends with it.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => undefined);
process.on("disconnect", () => process.exit(0));

function run(data: WorkerData): void {
  const { config } = data;
  const log = createLogger({ ...config.log, format: data.pretty ? "pretty" : "json" }).child({ worker: data.index });
  const last = (kind: string) => (err: unknown): void => {
    log.fatal({ err: err instanceof Error ? err : new Error(String(err)), kind }, "relay bug in a UDP worker: exiting");
    process.exit(70);
  };
  process.on("unhandledRejection", last("unhandledRejection"));
  process.on("uncaughtException", last("uncaughtException"));
  const certs = new WorkerCerts(data.cert);
  const auth = new Authenticator(config.auth, log);
  const origin = new Origin(config);
  const admission = new WorkerAdmission(() => config.limits, (m) => ipc.send(m));
  const sessions = new SessionRegistry(admission);
  const counters = new ServerCounters();
  const partial = { config, log, certs, auth, origin, admission, sessions, counters, hop: data.hop, cluster: undefined, draining: false, listening: false };
  const ctx: UdpContext & Pick<RelayContext, "draining" | "listening"> = Object.assign(partial, {
    authorize: makeGate({ auth, admission, counters, log, draining: () => ctx.draining, starting: () => !ctx.listening, relayWide: (remote) => admission.checkRelayWide(remote) }),
    accept: makeAccept(partial),
  });
  const link = startWorkerLink({ port: ipc.link, initiator: true, remote: "main", origin, config, hop: data.hop, log });
  detach(link.run(), (err) => log.error({ err }, "link to the main process failed"));

  const snapshot = (): Snapshot => {
    const stats: Record<string, number> = {};
    for (const [k, v] of Object.entries(origin.stats)) if (typeof v === "number") stats[k] = v;
    stats.trackCount = origin.list("").reduce((n, b) => n + b.trackCount, 0);
    const c = {} as Snapshot["counters"];
    for (const m of COUNTER_MAPS) c[m] = [...counters[m]];
    const tracks: Snapshot["tracks"] = [];
    for (const b of origin.all()) {
      b.forEachTrack((t) => {
        if (t.hasUpstream && tracks.length < MAX_TRACKS) tracks.push({ broadcast: b.path, track: t.name, viewers: t.viewerCount });
      });
    }
    return { sessions: sessions.size, stats, counters: c, tracks };
  };

  let udp: UdpSide | undefined;
  const timer = setInterval(() => ipc.send({ type: "stats", snapshot: snapshot() }), STATS_INTERVAL);

  const close = async (): Promise<void> => {
    clearInterval(timer);
    await udp?.close();
    link.close(0, "relay shutting down");
    origin.close();
    auth.close();
    ipc.send({ type: "closed" });
    // Out once the IPC queue is flushed; the main process kills what lingers.
    setTimeout(() => process.exit(0), 100).unref();
  };

  ipc.onControl((m) => handle(m, { ctx, sessions, admission, udp: () => udp, close, log, reload: (next) => reloadConfig({ config, log: silentLogger(), certs, auth, origin }, next).then(() => void (log.level = config.log.level)), certs }));

  const start = async (): Promise<void> => {
    await auth.start();
    udp = await startUdp(ctx, data.port, { reusePort: true });
    ipc.send({ type: "stats", snapshot: snapshot() });
    ipc.send({ type: "ready", port: udp.port ?? data.port, serving: udp.serving });
  };
  start().catch((err: unknown) => {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    ipc.send({ type: "failed", message: err instanceof Error ? err.message : String(err), code: e.code, address: e.address, port: e.port, syscall: e.syscall });
  });
}

interface Handles {
  ctx: Pick<RelayContext, "draining" | "listening">;
  sessions: SessionRegistry;
  udp(): UdpSide | undefined;
  close(): Promise<void>;
  reload(next: WorkerData["config"]): Promise<void>;
  certs: WorkerCerts;
  admission: WorkerAdmission;
  log: Logger;
}

function handle(m: ToWorker, h: Handles): void {
  switch (m.type) {
    case "init":
      break;
    case "serving":
      h.ctx.listening = true;
      break;
    case "goaway":
      h.ctx.draining = true;
      h.sessions.goawayAll();
      h.udp()?.goaway?.();
      break;
    case "drain":
      detach(
        h.sessions.whenEmpty().then(() => ipc.send({ type: "empty" })),
        () => undefined,
      );
      break;
    case "stop":
      h.sessions.closeAll(0, "relay shutting down");
      break;
    case "close":
      detach(h.close(), (err) => h.log.error({ err }, "worker shutdown failed"));
      break;
    case "reload":
      // The main process logs what changed; here the same live keys are applied quietly.
      detach(
        h.reload(m.config).finally(() => ipc.send({ type: "reloaded" })),
        (err) => h.log.error({ err }, "worker reload failed"),
      );
      break;
    case "cert":
      h.certs.set(m.cert);
      break;
    case "refused":
      h.admission.refused(m.id, m.reason);
      break;
    case "checked":
      h.admission.checked(m.id, m.reason);
      break;
  }
}

ipc.onControl((m) => {
  if (m.type === "init") run(m.data);
});
