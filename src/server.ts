// The relay, as a table of contents: each part gets its section of the one Config and the shared
// context; nothing here knows a wire format.
import { webcrypto } from "node:crypto";
import { Authenticator } from "./auth/authorize.js";
import type { Config } from "./config/types.js";
import { Cluster } from "./cluster/cluster.js";
import { Origin } from "./relay/origin.js";
import { CertStore } from "./transport/tls/cert.js";
import type { Logger } from "./util/log.js";
import { makeAccept } from "./server/accept.js";
import { Admission } from "./server/admission.js";
import type { RelayContext } from "./server/context.js";
import { makeGate } from "./server/gate.js";
import { SessionRegistry } from "./server/sessions.js";
import { drain, type Part } from "./server/shutdown.js";
import { ServerCounters } from "./server/counters.js";
import { Ops } from "./ops/index.js";
import { reloadConfig, type ReloadResult } from "./server/reload.js";
import { startOpsListener, type OpsListener } from "./ops/listener.js";
import { startTcp, type TcpSide } from "./server/tcp.js";
import { startUdp, type UdpSide } from "./server/udp.js";
import { cacheShare, chooseWorkers, WorkerPool } from "./workers/pool.js";

export interface RelayHandle {
  /** TCP port actually bound (useful with port 0). */
  readonly port: number;
  /** Port of the operations listener ([http] ops_bind), when configured. */
  readonly opsPort?: number;
  readonly origin: Origin;
  readonly certs: CertStore;
  readonly context: RelayContext;
  /** Apply a freshly loaded config (SIGHUP): live keys now, the rest logged as needing a restart. */
  reload(next: Config): Promise<ReloadResult>;
  /** Stop accepting, tell sessions to go away, wait up to http.drain_timeout, release sockets. */
  close(): Promise<void>;
}

/** A random origin id in [1, 2^53): JS clients hold origins as numbers. */
function randomHop(): bigint {
  const [hi, lo] = webcrypto.getRandomValues(new Uint32Array(2));
  return BigInt(hi) * 0x200000n + BigInt(lo & 0x1fffff) + 1n;
}

export async function startRelay(config: Config, log: Logger): Promise<RelayHandle> {
  // 1. Shared state: certificates, keys, the relay core, admission.
  const certs = await CertStore.create(config.tls, log);
  const auth = new Authenticator(config.auth, log);
  await auth.start();
  const origin = new Origin(config);
  const admission = new Admission(() => config.limits);
  const sessions = new SessionRegistry(admission);
  const counters = new ServerCounters();
  const trackCount = (): number => origin.list("").reduce((n, b) => n + b.trackCount, 0);
  const hop = randomHop();
  // [server] workers > 1: UDP served by worker processes, whose numbers the operations views sum.
  // Each process caches for its own sessions, so each gets its share of the one cache budget.
  const plan = chooseWorkers(config, log);
  const workers = plan.count;
  const pool = workers > 1 ? new WorkerPool({ config, log, certs, origin, admission, hop, newHop: randomHop }, workers) : undefined;
  const views = pool?.views;
  origin.cache.setBudget(cacheShare(config.cache.max_bytes, workers));
  const ops = new Ops(
    views !== undefined
      ? { stats: views.stats(origin.stats), counters: views.counters(counters), trackCount: () => trackCount() + views.trackCount() }
      : { stats: origin.stats, counters, trackCount },
  );
  const listed = config.cluster.nodes.length + config.cluster.connect.length > 0;
  const cluster = listed ? new Cluster({ config, origin, hop, log }) : undefined;
  if (cluster !== undefined) ops.setPeerStates(() => cluster.states());
  if (cluster !== undefined) ops.setNodes(() => Object.assign({ origin: hop.toString() }, cluster.nodes()));
  ops.setWorkers(views !== undefined ? () => ({ origin: hop.toString(), workers: views.describe() }) : undefined, plan.note);
  const partial = { config, log, certs, auth, origin, admission, sessions, counters, ops, hop, cluster, workers: views, draining: false, listening: false };
  const ctx: RelayContext = Object.assign(partial, {
    authorize: makeGate({ auth, admission, counters, log, draining: () => ctx.draining, starting: () => !ctx.listening }),
    accept: makeAccept(partial),
  });

  // 2. Listeners: TCP (HTTP + WebSocket), then UDP (WebTransport + raw QUIC) on the same port number.
  // The operations listener, only when configured (it is unauthenticated).
  let tcp: TcpSide | undefined;
  let udp: UdpSide | undefined;
  let opsListener: OpsListener | undefined;
  try {
    if (config.server.tcp) tcp = await startTcp(ctx);
    udp = pool !== undefined ? await pool.start(tcp?.port ?? config.server.port) : await startUdp(ctx, tcp?.port ?? config.server.port);
    if (config.http.ops_bind !== undefined) opsListener = await startOpsListener(config.http.ops_bind, ops, () => ctx.listening && !ctx.draining, log);
  } catch (err) {
    // Release what already started, so a failed start leaves no port or timer behind.
    await udp?.close();
    tcp?.stopSessions();
    await tcp?.close(0);
    auth.close();
    certs.close();
    throw err;
  }

  // 3. Start dialing peers once the listeners are up, so peers dialing back find us.
  const port = tcp?.port ?? config.server.port;
  cluster?.start();
  ctx.listening = true;
  log.info({ bind: config.server.bind, port, tcp: tcp !== undefined, udp: udp.serving, fingerprint: certs.current.fingerprint }, "relay listening");
  const parts: Part[] = [pool ?? udp];
  if (opsListener !== undefined) parts.push(opsListener);
  if (tcp !== undefined) {
    const t = tcp;
    parts.push({ stopSessions: () => t.stopSessions(), close: () => t.close(100) });
  }

  // 4. Shutdown: drain sessions, release listeners, then the shared state.
  return {
    port,
    opsPort: opsListener?.port,
    origin,
    certs,
    context: ctx,
    async reload(next) {
      const result = await reloadConfig(ctx, next);
      if (result.applied.includes("cache.max_bytes")) origin.cache.setBudget(cacheShare(config.cache.max_bytes, workers));
      await pool?.reload(next);
      return result;
    },
    async close(): Promise<void> {
      await cluster?.close();
      await drain(ctx, parts);
      origin.close();
      auth.close();
      certs.close();
    },
  };
}
