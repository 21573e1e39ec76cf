// The operations side of a running relay: metrics, and the hooks other parts register so the
// operations routes can show them (the cluster's peer states and its /nodes document).
import { Metrics, type MetricSources, type PeerStates } from "./metrics.js";

export { Metrics, type PeerStates } from "./metrics.js";

export class Ops {
  readonly metrics: Metrics;
  private nodesFn: (() => unknown) | undefined;

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
}
