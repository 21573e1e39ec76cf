// Prometheus metrics, read from the counters the relay already keeps (RelayStats in the relay core,
// ServerCounters in the server layer) at scrape time: nothing on the data path knows about
// prom-client, and this module holds no counts of its own. Label values come from closed sets
// (no per-path or per-peer labels), so cardinality is bounded whatever peers do.
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { RelayStats } from "../relay/stats.js";
import type { ServerCounters } from "../server/counters.js";

export interface MetricSources {
  stats: RelayStats;
  counters: ServerCounters;
  /** Track counts of the live broadcasts (walked at scrape time). */
  trackCount(): number;
}

/** Cluster peers by state ("connected", "backoff", ...): registered by the cluster when it runs. */
export type PeerStates = () => Record<string, number>;

type Sample = [Record<string, string>, number];

/** "a b" keys of a ServerCounters map → labelled samples. */
function split(map: Map<string, number>, names: [string, string]): Sample[] {
  return [...map].map(([key, n]) => {
    const i = key.indexOf(" ");
    return [{ [names[0]]: key.slice(0, i), [names[1]]: key.slice(i + 1) }, n];
  });
}

function single(map: Map<string, number>, name: string): Sample[] {
  return [...map].map(([key, n]) => [{ [name]: key }, n]);
}

export class Metrics {
  readonly registry = new Registry();
  private peers: PeerStates | undefined;

  constructor(src: MetricSources) {
    const r = this.registry;
    const { stats: s, counters: c } = src;
    // Counters mirror totals kept elsewhere: reset, then set to the current value.
    const counter = (name: string, help: string, labels: string[], read: () => number | Sample[]): void => {
      new Counter({
        name,
        help,
        labelNames: labels,
        registers: [r],
        collect() {
          this.reset();
          const v = read();
          if (typeof v === "number") this.inc(v);
          else for (const [l, n] of v) this.inc(l, n);
        },
      });
    };
    const gauge = (name: string, help: string, labels: string[], read: () => number | Sample[]): void => {
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers: [r],
        collect() {
          this.reset();
          const v = read();
          if (typeof v === "number") this.set(v);
          else for (const [l, n] of v) this.set(l, n);
        },
      });
    };
    const dir = (i: number, o: number): Sample[] => [[{ direction: "in" }, i], [{ direction: "out" }, o]];
    const tp: [string, string] = ["transport", "protocol"];

    counter("moq_relay_sessions_opened_total", "MoQ sessions started", tp, () => split(c.opened, tp));
    counter("moq_relay_sessions_closed_total", "MoQ sessions ended", tp, () => split(c.closed, tp));
    gauge("moq_relay_sessions", "live MoQ sessions", tp, () =>
      split(c.opened, tp).map(([l, n]) => [l, n - (c.closed.get(`${l.transport} ${l.protocol}`) ?? 0)]),
    );
    counter("moq_relay_subscriptions_opened_total", "upstream subscriptions to publishers opened", [], () => s.upstreamsTotal);
    counter("moq_relay_subscriptions_closed_total", "upstream subscriptions to publishers closed", [], () => s.upstreamsTotal - s.upstreams);
    gauge("moq_relay_subscriptions", "upstream subscriptions held now", [], () => s.upstreams);
    counter("moq_relay_reroutes_total", "upstream subscriptions moved to a broadcast's new best route under its viewers", [], () => s.reroutes);
    counter("moq_relay_viewers_opened_total", "viewer subscriptions opened", [], () => s.subscribesTotal);
    counter("moq_relay_viewers_closed_total", "viewer subscriptions closed", [], () => s.subscribesTotal - s.subscriptions);
    gauge("moq_relay_viewers", "viewer subscriptions now", [], () => s.subscriptions);
    counter("moq_relay_bytes_total", "payload bytes received from publishers (in) and sent to viewers (out)", ["direction"], () => dir(s.bytesIn, s.bytesOut));
    counter("moq_relay_frames_total", "frames received (in) and sent (out)", ["direction"], () => dir(s.framesIn, s.framesOut));
    counter("moq_relay_groups_total", "groups received (in) and sent (out)", ["direction"], () => dir(s.groupsIn, s.groupsOut));
    counter("moq_relay_groups_dropped_total", "groups a viewer skipped because it fell behind or they expired", [], () => s.groupsDropped);
    counter("moq_relay_fetches_total", "fetches served (moq-lite FETCH and HTTP /fetch)", [], () => s.fetches);
    counter("moq_relay_announces_total", "broadcast announcements accepted", [], () => s.announces);
    counter("moq_relay_accept_failures_total", "connections that never became a session", ["listener", "class"], () => split(c.acceptFailures, ["listener", "class"]));
    counter("moq_relay_auth_refusals_total", "connections refused by authentication, by reason", ["reason"], () => single(c.authRefusals, "reason"));
    counter("moq_relay_protocol_errors_total", "sessions closed with an error code, by code", ["code"], () => single(c.errors, "code"));
    counter("moq_relay_cache_evictions_total", "cached groups dropped by the byte budget", [], () => s.evictions);
    counter("moq_relay_datagram_objects_dropped_total", "datagram objects with no place in a relay group (past a gap in object ids)", [], () => s.datagramObjectsDropped);
    gauge("moq_relay_broadcasts", "live broadcasts", [], () => s.broadcasts);
    gauge("moq_relay_tracks", "tracks of live broadcasts", [], () => src.trackCount());
    gauge("moq_relay_cache_bytes", "payload bytes held by the group cache", [], () => s.cacheBytes);
    gauge("moq_relay_cluster_peers", "cluster peers by state", ["state"], () => Object.entries(this.peers?.() ?? {}).map(([state, n]): Sample => [{ state }, n]));
    // Process metrics, including nodejs_eventloop_lag_seconds and its percentiles.
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
  }

  /** The cluster calls this once with a function returning its peers' counts by state. */
  setPeerStates(fn: PeerStates): void {
    this.peers = fn;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
