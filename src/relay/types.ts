// The contracts between the relay core and whatever feeds it (a publishing session, a cluster
// peer) or drains it (a viewer's session). The core knows no transport and no wire format: these
// are plain values and callbacks.
import type { Group, GroupCursor } from "./group.js";

/** A track's immutable properties, as its publisher advertises them (TRACK_INFO). */
export interface TrackInfo {
  /** Publisher priority (0-255): breaks ties between subscriber priorities. */
  priority: number;
  /** The publisher prefers groups delivered in sequence order. */
  ordered: boolean;
  /** How long (ms) a non-latest group stays useful; the cache keeps groups this long. 0 = unknown. */
  maxLatency: number;
  /** Frame timestamp units per second. */
  timescale: number;
}

/** What the relay assumes when a publisher cannot say (pre lite-05 versions): @moq/net's defaults. */
export const DEFAULT_TRACK_INFO: Readonly<TrackInfo> = Object.freeze({ priority: 0, ordered: false, maxLatency: 5000, timescale: 1000 });

/** Preferences of the one upstream subscription a track holds for all its viewers. */
export interface UpstreamPrefs {
  priority: number;
  ordered: boolean;
  /** Max latency (ms) the relay needs from upstream; 0 = no limit. */
  maxLatency: number;
}

/** A viewer's subscription preferences. */
export interface ViewerPrefs {
  /** Subscriber priority (0-255), higher first. */
  priority: number;
  ordered: boolean;
  /** Groups older than this (ms) are skipped rather than delivered late; 0 = no limit. */
  maxLatency: number;
  /** First group wanted; undefined = the latest cached group, else the first to arrive. */
  start?: number;
  /** Last group wanted (inclusive); undefined = open-ended. */
  end?: number;
}

/** Where a source writes what it receives for one upstream subscription. */
export interface TrackSink {
  /**
   * Upstream started group `sequence`: append its frames to the returned Group, then finish or
   * abort it. undefined = the relay already has it (a duplicate) or no longer wants it; discard
   * the data (e.g. STOP_SENDING the stream). `datagram`: the group came as one datagram (a viewer
   * that takes datagrams may get it the same way).
   */
  group(sequence: number, datagram?: boolean): Group | undefined;
  /** Upstream promised no group at or after `end` (exclusive) will come. */
  end(end: number): void;
  /**
   * Upstream said its groups begin at `sequence` (moq-lite-05 SUBSCRIBE_START). A relay upstream
   * opens a burst's streams newest first, so without this a viewer waiting for its first group
   * would start at the newest and refuse the older ones of the burst.
   */
  start?(sequence: number): void;
  /** The upstream subscription is over: `code` undefined = it ended cleanly, else a MoQ error code. */
  close(code?: number): void;
}

/** The relay's handle on an upstream subscription. */
export interface Upstream {
  /** The merged viewer preferences changed (e.g. a viewer needing a longer latency joined). */
  update(prefs: UpstreamPrefs): void;
  /** No viewer needs the track any more: unsubscribe. The sink is not called afterwards. */
  close(): void;
}

/**
 * Whoever publishes a broadcast into the relay: a client session that announced it, or a cluster
 * peer. The relay asks it for track properties and subscribes to tracks on demand.
 */
export interface BroadcastSource {
  /** The track's properties; rejects with a MoqError-like `{ code }` when the track is unknown. */
  trackInfo(track: string): Promise<TrackInfo>;
  /** Start delivering the track's groups to `sink`, newest first. */
  subscribe(track: string, sink: TrackSink, prefs: UpstreamPrefs): Upstream;
  /**
   * Is `other` the same upstream as this one (the same session's broadcast under a new route)?
   * Then a route switch keeps the open subscriptions. Optional: absent = never.
   */
  sameAs?(other: BroadcastSource): boolean;
  /** Fetch one (past) group into `into` (append/finish/abort it). Optional: cache misses fail without it. */
  fetch?(track: string, sequence: number, into: Group): { close(): void };
}

/** The relay's handle on one viewer subscription (see Track.subscribe). */
export interface ViewerSink {
  /**
   * Deliver a group: read its frames through `cursor` (frames already cached are available at
   * once, later ones are signalled through cursor.onChange) and call cursor.close() when done
   * with it. Called in sequence order for cached groups, then in arrival order.
   */
  group(cursor: GroupCursor): void;
  /** No group at or after `end` (exclusive) will be delivered. Called at most once. */
  end(end: number): void;
  /** The subscription is over (broadcast gone, upstream failed): `code` undefined = cleanly. */
  close(code: number | undefined): void;
}
