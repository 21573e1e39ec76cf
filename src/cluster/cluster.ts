// The cluster: every configured peer dialed forever, peers that dial us accepted (a session is a
// peer exactly when its token carries the cluster claim), one link per pair of relays, and the
// /nodes document. Links are ordinary moq-lite sessions with a cluster grant: each side announces
// its whole origin to the other (hop lists and exclude_hop keep announcements from looping) and
// the relay core's routing serves each broadcast through its best route.
import { peersOf, readClusterToken } from "../config/cluster.js";
import type { Config } from "../config/types.js";
import type { Origin } from "../relay/origin.js";
import type { ClusterLink, LiteSession } from "../session/lite/session.js";
import type { Session } from "../transport/session.js";
import type { Logger } from "../util/log.js";
import { detach } from "../util/async.js";
import { Dialer, rttOf, trustOf } from "./dial.js";
import { Link, type LinkOwner } from "./link.js";
import { Peer } from "./peer.js";

export interface ClusterEnv {
  config: Config;
  origin: Origin;
  hop: bigint;
  log: Logger;
}

export class Cluster implements LinkOwner {
  private readonly peers: Peer[] = [];
  /** The kept link to each peer relay, by its origin id. */
  private readonly links = new Map<bigint, Link>();
  private readonly inbound = new Set<Link>();
  private readonly goneWaiters = new Map<bigint, Array<() => void>>();
  private readonly dialer: Dialer;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly env: ClusterEnv) {
    this.log = env.log.child({ component: "cluster" });
    this.dialer = new Dialer(env.config, trustOf(env.config), this.log);
  }

  get linger(): number {
    return this.env.config.cluster.linger;
  }

  /** Start dialing every configured node except this one. */
  start(): void {
    const c = this.env.config.cluster;
    const specs = peersOf(c);
    if (specs.length === 0) return;
    const token = c.token !== undefined ? readClusterToken(c.token) : undefined;
    this.log.info({ peers: specs.map((p) => p.url), origin: this.env.hop.toString(), node: c.node }, "cluster starting");
    for (const spec of specs) {
      const peer = new Peer(spec, {
        config: this.env.config,
        origin: this.env.origin,
        hop: this.env.hop,
        dialer: this.dialer,
        owner: this,
        token,
        log: this.log,
        whenGone: (o) => this.whenGone(o),
      });
      this.peers.push(peer);
      detach(peer.start(), (err) => this.log.error({ err, peer: spec.url }, "cluster peer loop failed"));
    }
  }

  /** An accepted session: a ClusterLink for it when its grant makes it a peer, else undefined. */
  accepted(session: Session, grant: { cluster?: boolean }): { link: ClusterLink; bind(s: LiteSession): void; done(): void } | undefined {
    if (grant.cluster !== true) return undefined;
    const link = new Link(this, "inbound", 1, session.remote);
    link.bytes = (session as Session & { bytes?: { in: number; out: number } }).bytes;
    this.inbound.add(link);
    return {
      link,
      bind: (s) => void (link.session = s),
      done: () => {
        this.inbound.delete(link);
        this.released(link);
      },
    };
  }

  /** LinkOwner: the peer's SETUP arrived on `link`. Keep one link per pair: the one the lower origin id dialed. */
  identified(link: Link, origin: bigint): void {
    if (origin === this.env.hop) {
      this.log.warn({ where: link.where }, "cluster link leads back to this relay (check node and nodes); closing it");
      link.dropDuplicate();
      return;
    }
    const dialer = (l: Link): bigint => (l.direction === "outbound" ? this.env.hop : l.origin);
    const kept = this.links.get(origin);
    if (kept !== undefined && kept !== link && kept.session?.isClosed !== true) {
      const newWins = dialer(link) < dialer(kept);
      const loser = newWins ? kept : link;
      this.log.info({ origin: origin.toString(), kept: newWins ? link.direction : kept.direction }, "two links to one peer relay; keeping one");
      if (newWins) this.links.set(origin, link);
      loser.dropDuplicate();
      if (!newWins) return;
    } else {
      this.links.set(origin, link);
    }
    if (link.direction === "outbound") this.peers.find((p) => p.link === link)?.connected(origin);
    else this.log.info({ origin: origin.toString(), remote: link.where }, "cluster peer connected (inbound)");
  }

  /** A link is over: forget it, and wake outbound dials that deferred to it. */
  released(link: Link): void {
    if (link.origin === 0n || this.links.get(link.origin) !== link) return;
    this.links.delete(link.origin);
    if (link.direction === "inbound" && !link.duplicate) this.log.info({ origin: link.origin.toString(), remote: link.where }, "cluster peer link lost (inbound)");
    for (const w of this.goneWaiters.get(link.origin)?.splice(0) ?? []) w();
  }

  private whenGone(origin: bigint): Promise<void> {
    const l = this.links.get(origin);
    if (l === undefined || l.direction === "outbound") return Promise.resolve();
    return new Promise((resolve) => {
      let list = this.goneWaiters.get(origin);
      if (list === undefined) this.goneWaiters.set(origin, (list = []));
      list.push(resolve);
    });
  }

  /** The /nodes document. */
  nodes(): unknown {
    const c = this.env.config.cluster;
    const describe = (l: Link | undefined): Record<string, unknown> => {
      const s = l?.session;
      return {
        origin: l !== undefined && l.origin !== 0n ? l.origin.toString() : null,
        since: l !== undefined ? new Date(l.since).toISOString() : null,
        routes: l !== undefined && l.origin !== 0n ? this.env.origin.routeCount(l.origin) : 0,
        broadcasts: s?.ingest.broadcastCount ?? 0,
        upstream_subscriptions: s?.ingest.subscriptionCount ?? 0,
        served_subscriptions: s?.serve.subscriptionCount ?? 0,
        transport: s?.transport.transport ?? null,
        rtt_ms: rttOf(s),
        bytes_in: l?.bytes?.in ?? null,
        bytes_out: l?.bytes?.out ?? null,
      };
    };
    const peers: Record<string, unknown>[] = this.peers.map((p) => {
      const live = p.link !== undefined && this.links.get(p.link.origin) === p.link ? p.link : undefined;
      const inbound = p.state === "standby" ? this.links.get(p.origin) : undefined;
      return {
        url: p.url,
        direction: p.state === "standby" ? "inbound" : "outbound",
        state: p.state,
        cost: p.spec.cost,
        attempts: p.failures,
        last_error: p.lastError ?? null,
        ...describe(live ?? inbound),
      };
    });
    for (const l of this.links.values()) {
      if (l.direction !== "inbound" || this.peers.some((p) => p.state === "standby" && p.origin === l.origin)) continue;
      peers.push({ url: null, remote: l.where, direction: "inbound", state: "connected", cost: l.cost, attempts: 0, last_error: null, ...describe(l) });
    }
    const upstreams: Record<string, unknown>[] = [];
    for (const b of this.env.origin.all()) {
      b.forEachTrack((t) => {
        if (t.hasUpstream) upstreams.push({ broadcast: b.path, track: t.name, upstreams: 1, viewers: t.viewerCount, via: b.hops.length > 0 ? b.hops[b.hops.length - 1].toString() : null });
      });
    }
    return { node: c.node ?? null, origin: this.env.hop.toString(), linger_ms: c.linger, peers, tracks: upstreams };
  }

  /** Peer counts by state (metrics). */
  states(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.peers) out[p.state] = (out[p.state] ?? 0) + 1;
    const inbound = [...this.links.values()].filter((l) => l.direction === "inbound").length;
    if (inbound > 0) out.inbound = inbound;
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers) p.stop();
    await this.dialer.close();
  }
}
