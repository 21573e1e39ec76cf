// Ids for the streams we open on a QUIC connection, within the peer's stream credit. An id is
// handed out at once when credit is left; otherwise the opener waits (in order, per direction)
// until the peer grants more. quiche counts a stream only once data is sent on it, so ids handed
// out since the last write are reserved against the credit it reports.
import type { NativeConnection } from "./native.js";

interface Waiter {
  uni: boolean;
  resolve: (id: number) => void;
  reject: (e: Error) => void;
}

export class StreamIds {
  private nextBidi: number;
  private nextUni: number;
  private waiters: Waiter[] = [];
  /** Ids handed out but not yet seen by quiche (it counts a stream once data is sent on it). */
  private reservedBidi = 0;
  private reservedUni = 0;

  constructor(
    private readonly conn: NativeConnection,
    isServer: boolean,
  ) {
    this.nextBidi = isServer ? 1 : 0;
    this.nextUni = isServer ? 3 : 2;
  }

  /**
   * An id for a new stream: at once if `ready` (established) and credit is left with nobody
   * waiting before us; otherwise once wake() finds credit (`queued` is told to schedule a flush).
   */
  open(uni: boolean, ready: boolean, queued: () => void): Promise<number> {
    const left = uni ? this.conn.peerStreamsLeftUni() - this.reservedUni : this.conn.peerStreamsLeftBidi() - this.reservedBidi;
    const waiting = this.waiters.some((w) => w.uni === uni);
    if (ready && left > 0 && !waiting) return Promise.resolve(this.allocate(uni));
    return new Promise((resolve, reject) => {
      this.waiters.push({ uni, resolve, reject });
      queued();
    });
  }

  /** Hand ids to waiting openers as far as the peer's credit goes. */
  wake(): void {
    if (this.waiters.length === 0) return;
    let bidi = this.conn.peerStreamsLeftBidi() - this.reservedBidi;
    let uni = this.conn.peerStreamsLeftUni() - this.reservedUni;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.uni && uni > 0) {
        uni--;
        w.resolve(this.allocate(true));
      } else if (!w.uni && bidi > 0) {
        bidi--;
        w.resolve(this.allocate(false));
      } else still.push(w);
    }
    this.waiters = still;
  }

  /** Every stream handed out has now been written to, so quiche's own counts include it. */
  written(): void {
    this.reservedBidi = 0;
    this.reservedUni = 0;
  }

  /** The connection is gone: every waiting opener fails. */
  fail(err: Error): void {
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
  }

  private allocate(uni: boolean): number {
    const id = uni ? this.nextUni : this.nextBidi;
    if (uni) {
      this.nextUni += 4;
      this.reservedUni++;
    } else {
      this.nextBidi += 4;
      this.reservedBidi++;
    }
    return id;
  }
}
