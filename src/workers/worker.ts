// A UDP worker thread: the relay's UDP side (WebTransport over HTTP/3, raw QUIC) on its own socket
// bound to the relay's port with SO_REUSEPORT, its own relay core, and a moq-lite link to the main
// thread's (link.ts). Admission, auth and session bookkeeping are this thread's own; the main
// thread drives drain, reload and certificate changes with the messages in messages.ts and sums
// the snapshots this thread sends it.
import { parentPort, workerData } from "node:worker_threads";
import "../util/node20.js";
import { Authenticator } from "../auth/authorize.js";
import { Origin } from "../relay/origin.js";
import { makeAccept } from "../server/accept.js";
import { Admission } from "../server/admission.js";
import type { RelayContext } from "../server/context.js";
import { ServerCounters } from "../server/counters.js";
import { makeGate } from "../server/gate.js";
import { reloadConfig } from "../server/reload.js";
import { SessionRegistry } from "../server/sessions.js";
import { startUdp, type UdpContext, type UdpSide } from "../server/udp.js";
import type { Certificate } from "../transport/tls/cert.js";
import { detach } from "../util/async.js";
import { createLogger, silentLogger } from "../util/log.js";
import { startThreadLink } from "./link.js";
import { COUNTER_MAPS, MAX_TRACKS, STATS_INTERVAL, type FromWorker, type Snapshot, type ToWorker, type WorkerData } from "./messages.js";

/** The certificate the main thread holds, and its changes (rotation, renewal) as they arrive. */
class WorkerCerts {
  private readonly listeners = new Set<(c: Certificate) => void>();
  constructor(public current: Certificate) {}
  onChange(fn: (c: Certificate) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  /** Certificate files are re-read by the main thread, which sends the result. */
  rotate(): Promise<Certificate> {
    return Promise.resolve(this.current);
  }
  set(c: Certificate): void {
    this.current = c;
    for (const fn of this.listeners) fn(c);
  }
}

const port = parentPort;
if (port === null) throw new Error("src/workers/worker.ts runs as a worker thread only");
const post = (m: FromWorker): void => port.postMessage(m);
const data = workerData as WorkerData;
const { config } = data;
const log = createLogger({ ...config.log, format: data.pretty ? "pretty" : "json" }).child({ worker: data.index });
const certs = new WorkerCerts(data.cert);
const auth = new Authenticator(config.auth, log);
const origin = new Origin(config);
const admission = new Admission(() => config.limits);
const sessions = new SessionRegistry(admission);
const counters = new ServerCounters();
const partial = { config, log, certs, auth, origin, admission, sessions, counters, hop: data.hop, cluster: undefined, draining: false };
const ctx: UdpContext & Pick<RelayContext, "draining"> = Object.assign(partial, {
  authorize: makeGate({ auth, admission, counters, log, draining: () => ctx.draining }),
  accept: makeAccept(partial),
});
const link = startThreadLink({ port: data.link, initiator: true, remote: "main", origin, config, hop: data.hop, log });
detach(link.run(), (err) => log.error({ err }, "link to the main thread failed"));

function snapshot(): Snapshot {
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
}

let udp: UdpSide | undefined;
const stats = setInterval(() => post({ type: "stats", snapshot: snapshot() }), STATS_INTERVAL);

async function close(): Promise<void> {
  clearInterval(stats);
  await udp?.close();
  link.close(0, "relay shutting down");
  origin.close();
  auth.close();
  post({ type: "closed" });
  port?.close();
}

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "goaway":
      ctx.draining = true;
      sessions.goawayAll();
      udp?.goaway?.();
      break;
    case "drain":
      detach(
        sessions.whenEmpty().then(() => post({ type: "empty" })),
        () => undefined,
      );
      break;
    case "stop":
      sessions.closeAll(0, "relay shutting down");
      break;
    case "close":
      detach(close(), (err) => log.error({ err }, "worker shutdown failed"));
      break;
    case "reload":
      // The main thread logs what changed; here the same live keys are applied quietly.
      detach(
        reloadConfig({ config, log: silentLogger(), certs, auth, origin }, m.config).then(() => (log.level = config.log.level)),
        (err) => log.error({ err }, "worker reload failed"),
      );
      break;
    case "cert":
      certs.set(m.cert);
      break;
  }
});

async function start(): Promise<void> {
  await auth.start();
  udp = await startUdp(ctx, data.port, { reusePort: true });
  post({ type: "stats", snapshot: snapshot() });
  post({ type: "ready", port: udp.port ?? data.port, serving: udp.serving });
}

start().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  post({ type: "failed", message: err instanceof Error ? err.message : String(err), code: e.code, address: e.address, port: e.port, syscall: e.syscall });
});
