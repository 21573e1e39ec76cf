// A subscription that a background pump drains into memory, so the test reads groups or frames
// with a deadline and a timed-out read loses nothing.
import * as Moq from "@moq/net";
import type { Connection, GroupConsumer, TrackSubscriber } from "./types.js";
import { DEFAULT_TIMEOUT_MS, describeError, Waiters } from "./wait.js";

export interface ReceivedGroup {
  sequence: number;
  /** Every frame of the group, in order (payloads are the client's buffers: read-only). */
  frames: Uint8Array[];
}

export interface ReceivedFrame {
  /** Group sequence. */
  group: number;
  /** Frame index within the group. */
  index: number;
  payload: Uint8Array;
}

export interface SubscribeOptions {
  priority?: number;
  ordered?: boolean;
  latencyMax?: number;
}

interface GroupState {
  sequence: number;
  frames: Uint8Array[];
  /** Frames already returned by nextFrame. */
  delivered: number;
  done: boolean;
  error?: unknown;
}

/**
 * Groups are handed out lowest sequence first among those received so far. moq-lite sends newer
 * groups first, so after a burst an older group can still arrive after a newer one was returned;
 * `readGroups(n)` is the order-insensitive read. `nextFrame` walks groups frame by frame;
 * `nextGroup` waits for the oldest group to end and returns all of its frames, including any
 * `nextFrame` already returned.
 */
export class Reader {
  /** The client's own subscriber, for anything the helpers do not cover. */
  readonly sub: TrackSubscriber;
  readonly #what: string;
  readonly #groups: GroupState[] = [];
  readonly #waiters = new Waiters();
  #ended = false;
  #endError: unknown;

  constructor(sub: TrackSubscriber, what: string) {
    this.sub = sub;
    this.#what = what;
    void this.#pump();
  }

  /** The next whole group (waits for it to end). Rejects if it was aborted or the track ended. */
  nextGroup(ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedGroup> {
    return this.#waiters.wait(
      () => {
        const g = this.#head();
        if (g === undefined || !g.done) return undefined;
        this.#groups.shift();
        if (g.error !== undefined) throw this.#aborted(g);
        return { sequence: g.sequence, frames: g.frames };
      },
      ms,
      `a whole group of ${this.#what}`,
    );
  }

  /**
   * The next group to end, whole or aborted (an aborted one comes with its error): for readers
   * that only need to know a group has passed, since under load the relay may skip a viewer ahead.
   */
  nextGroupSettled(ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedGroup & { error?: unknown }> {
    return this.#waiters.wait(
      () => {
        const g = this.#head();
        if (g === undefined || !g.done) return undefined;
        this.#groups.shift();
        return { sequence: g.sequence, frames: g.frames, error: g.error };
      },
      ms,
      `a group of ${this.#what} to end`,
    );
  }

  /**
   * The next `count` whole groups, sorted by sequence. moq-lite sends newer groups first, so
   * groups written in a burst may arrive in any order; this is the order-insensitive read.
   */
  async readGroups(count: number, ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedGroup[]> {
    const deadline = Date.now() + ms;
    const out: ReceivedGroup[] = [];
    while (out.length < count) {
      const left = Math.max(0, deadline - Date.now());
      out.push(await this.nextGroup(left).catch((err: unknown) => Promise.reject(new Error(`after ${out.length} of ${count} groups: ${describeError(err)}`, { cause: err }))));
    }
    return out.sort((a, b) => a.sequence - b.sequence);
  }

  /** The next frame, across group boundaries. */
  nextFrame(ms = DEFAULT_TIMEOUT_MS): Promise<ReceivedFrame> {
    return this.#waiters.wait(
      () => {
        for (let g = this.#head(); g !== undefined; g = this.#head()) {
          if (g.delivered < g.frames.length) {
            const index = g.delivered++;
            return { group: g.sequence, index, payload: g.frames[index] };
          }
          if (!g.done) return undefined;
          this.#groups.shift();
          if (g.error !== undefined) throw this.#aborted(g);
        }
        return undefined;
      },
      ms,
      `a frame of ${this.#what}`,
    );
  }

  /** Resolve once group `sequence` has `count` frames or more (ended or not; nothing is consumed). */
  framesIn(sequence: number, count: number, ms = DEFAULT_TIMEOUT_MS): Promise<true> {
    return this.#waiters.wait(() => (this.#groups.some((g) => g.sequence === sequence && g.frames.length >= count) ? true : undefined), ms, `${count} frames of group ${sequence} of ${this.#what}`);
  }

  /** Groups received but not yet returned by nextGroup (including partial ones). */
  get buffered(): number {
    return this.#groups.length;
  }

  /** Unsubscribe; pending reads reject once the track ends. */
  close(): void {
    this.sub.close();
  }

  // The oldest undelivered group; throws once nothing is left and the subscription has ended.
  #head(): GroupState | undefined {
    const g = this.#groups[0];
    if (g === undefined && this.#ended) {
      const why = this.#endError === undefined ? "the track was closed" : describeError(this.#endError);
      throw new Error(`subscription to ${this.#what} ended: ${why}`, { cause: this.#endError });
    }
    return g;
  }

  #aborted(g: GroupState): Error {
    return new Error(`group ${g.sequence} of ${this.#what} was aborted after ${g.frames.length} frames: ${describeError(g.error)}`, { cause: g.error });
  }

  async #pump(): Promise<void> {
    try {
      for (let g = await this.sub.recvGroup(); g !== undefined; g = await this.sub.recvGroup()) {
        const state: GroupState = { sequence: g.sequence, frames: [], delivered: 0, done: false };
        // Kept sorted: a burst often arrives newest-first, and readers want the oldest first.
        let at = this.#groups.length;
        while (at > 0 && this.#groups[at - 1].sequence > state.sequence) at--;
        this.#groups.splice(at, 0, state);
        void this.#drain(g, state);
      }
    } catch (err) {
      this.#endError = err;
    }
    this.#ended = true;
    this.#waiters.notify();
  }

  async #drain(g: GroupConsumer, state: GroupState): Promise<void> {
    try {
      for (let f = await g.readFrame(); f !== undefined; f = await g.readFrame()) {
        state.frames.push(f.payload);
        this.#waiters.notify();
      }
    } catch (err) {
      state.error = err;
    }
    state.done = true;
    this.#waiters.notify();
  }
}

/** Subscribe to `trackName` of the broadcast at `path` (relative to the connection URL's path). */
export function subscribe(conn: Connection, path: string, trackName: string, opts: SubscribeOptions = {}): Reader {
  const sub = conn.consume(Moq.Path.from(path)).subscribe(trackName, { priority: 0, ...opts });
  return new Reader(sub, `${path}/${trackName}`);
}
