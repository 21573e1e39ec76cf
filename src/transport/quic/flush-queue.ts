// Connections that want a flush this event-loop turn, flushed together from one setImmediate:
// a relay with hundreds of viewer connections pays one Immediate per turn, not one closure and
// one Immediate per connection per turn.

export interface Flushable {
  /** Called once per queued turn; the connection clears its own "queued" flag first. */
  flushQueued(): void;
}

class FlushQueue {
  private list: Flushable[] = [];
  private spare: Flushable[] = [];
  private armed = false;

  add(c: Flushable): void {
    this.list.push(c);
    if (this.armed) return;
    this.armed = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.armed = false;
    // Connections queued while this batch runs go to the next turn, as separate Immediates would.
    const batch = this.list;
    this.list = this.spare;
    let i = 0;
    try {
      for (; i < batch.length; i++) batch[i].flushQueued();
    } finally {
      // A throwing flush (an application callback) must not strand the rest of the batch.
      for (i++; i < batch.length; i++) this.add(batch[i]);
      batch.length = 0;
      this.spare = batch;
    }
  };
}

/** One queue per process: connections of every endpoint share the turn. */
export const flushQueue = new FlushQueue();
