// One session between this relay and a peer relay, in either direction: what /nodes shows of it,
// and the ClusterLink its moq-lite session reports to (the peer's origin id from SETUP, the cost
// of routes learned on it, whether they linger when it dies).
import type { ClusterLink, LiteSession } from "../session/lite/session.js";

export type Direction = "outbound" | "inbound";

export interface LinkOwner {
  /** The peer's SETUP named `origin`: register the link, or refuse it as a duplicate. */
  identified(link: Link, origin: bigint): void;
  /** The link's session is over. */
  released(link: Link): void;
  readonly linger: number;
}

export class Link implements ClusterLink {
  /** The peer's origin id (0n until its SETUP arrived). */
  origin = 0n;
  session: LiteSession | undefined;
  readonly since = Date.now();
  /** Closed because another link to the same peer is kept. */
  duplicate = false;
  /** Payload bytes each way on the link's streams and datagrams. */
  bytes: { in: number; out: number } | undefined;

  constructor(
    private readonly owner: LinkOwner,
    readonly direction: Direction,
    readonly cost: number,
    /** Where the peer is (dialed URL, or its remote address for an inbound link). */
    readonly where: string,
  ) {}

  /**
   * How long routes learned on this link outlive it. A duplicate's too: the kept link's
   * announcements may not have arrived yet, and until they do its routes are all there is; when
   * they come, they outrank the lingering ones and the tracks move over under their viewers.
   */
  linger(): number {
    return this.owner.linger;
  }

  peer(origin: bigint): void {
    this.origin = origin;
    this.owner.identified(this, origin);
  }

  /** Close as the redundant one of two links to the same peer. */
  dropDuplicate(): void {
    this.duplicate = true;
    this.session?.close(DUPLICATE_CODE, "duplicate cluster link: the other direction is kept");
  }
}

/** MoQ "Duplicate" (moq-wire §2.12). */
export const DUPLICATE_CODE = 12;
