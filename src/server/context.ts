// What every part of the running relay shares: built once by startRelay, handed to each listener.
import type { Authenticator, Grant } from "../auth/authorize.js";
import type { Config } from "../config/types.js";
import type { Origin } from "../relay/origin.js";
import type { Session } from "../transport/session.js";
import type { CertStore } from "../transport/tls/cert.js";
import type { Logger } from "../util/log.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Ops } from "../ops/index.js";
import type { Admission } from "./admission.js";
import type { ListenerKind, ServerCounters } from "./counters.js";
import type { SessionRegistry } from "./sessions.js";
import type { WorkerViews } from "../workers/views.js";

/** The outcome of checking a connection's URL: a grant, or an HTTP status and reason to refuse with. */
export type Decision = { ok: true; value: Grant } | { ok: false; status: number; reason: string };

export interface RelayContext {
  readonly config: Config;
  readonly log: Logger;
  readonly certs: CertStore;
  readonly auth: Authenticator;
  readonly origin: Origin;
  readonly admission: Admission;
  readonly sessions: SessionRegistry;
  /** Session and refusal counts by closed label sets, read by the metrics exporter. */
  readonly counters: ServerCounters;
  /** Metrics and the hooks the operations routes show (cluster peers, /nodes). */
  readonly ops: Ops;
  /** This relay's random origin id (moq-lite hop id), below 2^53 so JS clients hold it exactly. */
  readonly hop: bigint;
  /** The cluster (peers dialed and accepted), when [cluster] lists nodes. */
  readonly cluster?: Cluster;
  /** With [server] workers > 1: the worker processes' sessions and numbers, summed. */
  readonly workers?: WorkerViews;
  /** True once draining started: new sessions are refused. */
  draining: boolean;
  /** True once every listener serves (UDP workers bind after TCP): /ready waits for it. */
  listening: boolean;
  /**
   * Check a connection's URL (path = root, ?jwt= = token) against drain, limits and auth.
   * `listener` labels refusals in moq_relay_accept_failures_total.
   */
  authorize(url: URL, remote: string, listener?: ListenerKind): Promise<Decision>;
  /**
   * Run an accepted session. `viaSetup` authorises a URL that arrives later, in the protocol's
   * SETUP (raw QUIC moq-lite-05), for sessions accepted before their URL was known.
   */
  accept(session: Session, grant: Grant, viaSetup?: (url: URL) => Promise<Grant>): void;
}
