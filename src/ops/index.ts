// The operations side of a running relay: metrics, and the hooks other parts register so the
// operations routes can show them (the cluster's peer states and its /nodes document, the UDP
// worker processes' /workers document).
import { Metrics, type MetricSources, type PeerStates } from "./metrics.js";

export { Metrics, type PeerStates } from "./metrics.js";

export class Ops {
  readonly metrics: Metrics;
  private nodesFn: (() => unknown) | undefined;
  private workersFn: (() => unknown) | undefined;
  private workersNone = "one worker";

  constructor(src: MetricSources) {
    this.metrics = new Metrics(src);
  }

  /** The cluster registers its peer counts by state (moq_relay_cluster_peers{state}). */
  setPeerStates(fn: PeerStates): void {
    this.metrics.setPeerStates(fn);
  }

  /** The cluster registers the JSON document GET /nodes serves on the operations listener. */
  setNodes(fn: () => unknown): void {
    this.nodesFn = fn;
  }

  get nodes(): (() => unknown) | undefined {
    return this.nodesFn;
  }

  /** The worker pool registers the JSON document GET /workers serves; without one, why (for its 404). */
  setWorkers(fn: (() => unknown) | undefined, none = "one worker"): void {
    this.workersFn = fn;
    this.workersNone = none;
  }

  get workers(): (() => unknown) | undefined {
    return this.workersFn;
  }

  /** Why there are no worker processes (GET /workers answers 404 with it). */
  get noWorkers(): string {
    return this.workersNone;
  }
}
