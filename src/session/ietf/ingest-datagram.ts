// Object datagrams from a publisher into relay groups. A relay group is a list of frames whose
// positions are the object ids (frame i is object i: the core keeps no ids, and every session
// re-derives them from positions), and a finished group takes no more frames. So:
// - Object 0 opens its group. Most publishers send one object per datagram group without
//   END_OF_GROUP (OpenMOQ does): the group is finished at once, as before, so viewers get it
//   without waiting. Once a track has shown a datagram object past 0, its later groups stay open
//   for more objects until END_OF_GROUP (the type bit, or an END_OF_GROUP status), a newer group,
//   or the subscription's end; at most MAX_OPEN stay open per track.
// - Object n is appended when it is the next position of an open group.
// - Anything else has no position it could take without renumbering the objects after it: an
//   object past a gap (one lost or reordered on the way), or past a group already finished (the
//   first multi-object group of a track, before the relay learned it). It is dropped, counted
//   (moq_relay_datagram_objects_dropped_total) and logged at a limited rate; a group with a gap
//   ends there with what it holds.
import type { Group } from "../../relay/group.js";
import { PeerLog } from "../../util/ratelog.js";
import { ObjectDatagram } from "./datagram.js";
import type { AliasTarget } from "./ingest-source.js";
import { ObjectStatus } from "./object.js";
import type { IetfSession } from "./session.js";

/** Datagram groups open at once per upstream subscription (a few out-of-order groups). */
const MAX_OPEN = 4;

interface OpenGroup {
  group: Group;
  /** The object id the next frame must carry. */
  next: number;
}

export class DatagramIngest {
  /** Groups being filled from datagrams, per upstream subscription, ascending by sequence. */
  private readonly open = new Map<AliasTarget, Map<number, OpenGroup>>();
  /** Upstream subscriptions that have sent a datagram object past 0: their groups stay open. */
  private readonly multi = new WeakSet<AliasTarget>();
  private readonly log: PeerLog;

  constructor(
    private readonly s: IetfSession,
    private readonly target: (alias: number) => AliasTarget | undefined,
  ) {
    this.log = new PeerLog(s.log, 5, 0.2);
  }

  /** One datagram; a malformed one closes the session (PROTOCOL_VIOLATION). */
  receive(data: Uint8Array): void {
    const s = this.s;
    let d: ObjectDatagram;
    try {
      d = ObjectDatagram.decode(data, s.draft);
    } catch (err) {
      return s.fail(err);
    }
    const up = this.target(d.alias);
    if (up === undefined) return; // unknown alias: a subscription already over, or never ours
    let groups = this.open.get(up);
    const at = groups?.get(d.group);
    if (d.payload === undefined) {
      // Statuses carry no frame; END_OF_GROUP at the next position ends the group there.
      if (at !== undefined && d.status === ObjectStatus.EndOfGroup && d.object === at.next) this.finish(up, d.group);
      return;
    }
    if (d.payload.byteLength > s.limits.max_frame_size) return this.drop(d, "larger than limits.max_frame_size");
    const ts = d.timestamp ?? up.clockNow();
    if (d.object !== 0) this.multi.add(up);
    if (at === undefined) {
      if (d.object !== 0) return this.drop(d, "no open group holds the objects before it");
      // A newer group starting means the older ones are complete as far as they will get.
      for (const seq of groups === undefined ? [] : [...groups.keys()]) if (seq < d.group || (groups?.size ?? 0) >= MAX_OPEN) this.finish(up, seq);
      const g = up.sink.group(d.group, true);
      if (g === undefined) return; // nobody watching, or the group already came on a stream
      g.append(ts, d.payload);
      if (d.endOfGroup || !this.multi.has(up)) return g.finish();
      groups = this.open.get(up);
      if (groups === undefined) this.open.set(up, (groups = new Map()));
      groups.set(d.group, { group: g, next: 1 });
      return;
    }
    if (d.object < at.next) return; // a duplicate
    if (d.object > at.next) {
      this.drop(d, `object ${at.next} is missing`);
      return this.finish(up, d.group);
    }
    at.group.append(ts, d.payload);
    at.next++;
    if (d.endOfGroup) this.finish(up, d.group);
  }

  /** The subscription is over: its open groups end as they stand. */
  forget(up: AliasTarget): void {
    const groups = this.open.get(up);
    if (groups === undefined) return;
    this.open.delete(up);
    for (const o of groups.values()) o.group.finish();
  }

  close(): void {
    for (const up of [...this.open.keys()]) this.forget(up);
  }

  private finish(up: AliasTarget, seq: number): void {
    const groups = this.open.get(up);
    const o = groups?.get(seq);
    if (groups === undefined || o === undefined) return;
    groups.delete(seq);
    if (groups.size === 0) this.open.delete(up);
    o.group.finish();
  }

  private drop(d: ObjectDatagram, why: string): void {
    this.s.origin.stats.datagramObjectsDropped++;
    this.log.write("info", { alias: d.alias, group: d.group, object: d.object, reason: why }, "datagram object dropped: a relay group cannot hold it");
  }
}
