// Plain counters for the metrics endpoint. Incremented on the data path, so they are fields on one
// object (no maps, no labels, no closures); the exporter reads them when scraped.

export class RelayStats {
  /** Payload bytes / frames / groups received from publishers. */
  bytesIn = 0;
  framesIn = 0;
  groupsIn = 0;
  /** Payload bytes / frames / groups sent to viewers (counted by the sessions that send them). */
  bytesOut = 0;
  framesOut = 0;
  groupsOut = 0;
  /** Groups a viewer skipped because it fell behind or they expired (reset with code Old). */
  groupsDropped = 0;
  /** Groups dropped from the cache by the byte budget (not by age). */
  evictions = 0;
  /** Datagram objects a relay group had no place for (past a gap in their group's object ids). */
  datagramObjectsDropped = 0;

  /** Gauges. */
  broadcasts = 0;
  subscriptions = 0;
  /** Upstream subscriptions currently held (one per track with viewers or lingering). */
  upstreams = 0;
  /** Upstream subscriptions opened since start. */
  upstreamsTotal = 0;
  /** Upstream subscriptions moved to a broadcast's new best route under its viewers. */
  reroutes = 0;
  /** Payload bytes currently held by the group cache. */
  cacheBytes = 0;

  /** Totals since start. */
  announces = 0;
  subscribesTotal = 0;
  trackInfoRequests = 0;
  /** TRACK_INFO requests answered without asking the publisher. */
  trackInfoHits = 0;
  /** Fetches served: moq-lite FETCH streams and HTTP /fetch requests. */
  fetches = 0;
}
