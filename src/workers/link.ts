// The link between the main process's relay core and a worker's: a moq-lite peer session, as
// between two cluster relays, over the worker's IPC channel. Each side announces its whole origin to the
// other with hop lists, so the relay core's routing gives each worker one upstream subscription
// per track, and a broadcast published on one worker reaches viewers on another through the main
// process (workers link in a star, never to each other, so no route is ever longer than two hops).
import type { Config } from "../config/types.js";
import type { Origin } from "../relay/origin.js";
import { LiteSession, type ClusterLink } from "../session/lite/session.js";
import { PortSession, type PortLike } from "../transport/port/session.js";
import type { Logger } from "../util/log.js";

/** The peer's routes go when the link does: a worker that is gone has nothing to linger for. */
class WorkerLink implements ClusterLink {
  readonly cost = 1;
  origin = 0n;
  linger(): number {
    return 0;
  }
  peer(origin: bigint): void {
    this.origin = origin;
  }
}

export interface WorkerLinkOptions {
  port: PortLike;
  /** The worker's side opens even streams. */
  initiator: boolean;
  /** Who is at the other end ("main", "worker 1"), for logs. */
  remote: string;
  origin: Origin;
  config: Config;
  hop: bigint;
  log: Logger;
}

/** Run the link's moq-lite session; the session is returned so its owner can close it. */
export function startWorkerLink(o: WorkerLinkOptions): LiteSession {
  const transport = new PortSession(o.port, {
    initiator: o.initiator,
    remote: o.remote,
    protocol: "moq-lite-05",
    maxStreams: o.config.server.quic.max_streams,
  });
  return new LiteSession(transport, {
    origin: o.origin,
    // Everything both ways, reserved namespaces included: the other end is this relay.
    grant: { root: "", publish: [""], subscribe: [""], cluster: true },
    config: o.config,
    hopId: o.hop,
    log: o.log.child({ link: o.remote }),
    link: new WorkerLink(),
  });
}
