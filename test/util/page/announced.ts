// Broadcast discovery: what the peer announces under a prefix, drained by a background pump.
import * as Moq from "@moq/net";
import type { AnnounceConsumer, Connection } from "./types.js";
import { DEFAULT_TIMEOUT_MS, describeError, Waiters } from "./wait.js";

export interface AnnounceEvent {
  /** Broadcast path relative to the watched prefix. */
  path: string;
  active: boolean;
}

/**
 * Two views of one announce stream: `next()` consumes events in order (to assert sequences
 * such as announce → unannounce), while `waitFor()` checks the latest state of a path and
 * consumes nothing.
 */
export class Announcements {
  readonly prefix: string;
  readonly #consumer: AnnounceConsumer;
  readonly #events: AnnounceEvent[] = [];
  readonly #active = new Set<string>();
  readonly #waiters = new Waiters();
  #ended = false;
  #endError: unknown;

  constructor(consumer: AnnounceConsumer, prefix: string) {
    this.#consumer = consumer;
    this.prefix = prefix;
    void this.#pump();
  }

  /** The next announcement event. */
  next(ms = DEFAULT_TIMEOUT_MS): Promise<AnnounceEvent> {
    return this.#waiters.wait(
      () => {
        const e = this.#events.shift();
        if (e === undefined) this.#throwIfEnded();
        return e;
      },
      ms,
      `an announcement under "${this.prefix}"`,
    );
  }

  /** Resolve once `path` (relative to the prefix) is announced (or, with `active: false`, gone). */
  waitFor(path: string, active = true, ms = DEFAULT_TIMEOUT_MS): Promise<void> {
    const want: string = Moq.Path.from(path);
    return this.#waiters.wait(
      () => {
        if (this.#active.has(want) === active) return true;
        this.#throwIfEnded();
        return undefined;
      },
      ms,
      `"${want}" under "${this.prefix}" to be ${active ? "announced" : "unannounced"}`,
    ).then(() => undefined);
  }

  /** Paths currently announced (relative to the prefix). */
  get active(): string[] {
    return [...this.#active];
  }

  close(): void {
    this.#consumer.close();
  }

  #throwIfEnded(): void {
    if (!this.#ended) return;
    const why = this.#endError === undefined ? "the stream closed" : describeError(this.#endError);
    throw new Error(`announcements under "${this.prefix}" ended: ${why}`, { cause: this.#endError });
  }

  async #pump(): Promise<void> {
    try {
      for (let e = await this.#consumer.next(); e !== undefined; e = await this.#consumer.next()) {
        if (e.active) this.#active.add(e.path);
        else this.#active.delete(e.path);
        this.#events.push({ path: e.path, active: e.active });
        this.#waiters.notify();
      }
    } catch (err) {
      this.#endError = err;
    }
    this.#ended = true;
    this.#waiters.notify();
  }
}

/** Watch what the peer announces under `prefix` ("" = everything). Close it when done. */
export function watchAnnounced(conn: Connection, prefix = ""): Announcements {
  return new Announcements(conn.announced(Moq.Path.from(prefix)), prefix);
}

/**
 * Resolve once the peer announces `path` under `prefix` (the path is relative to the prefix).
 * The two-argument form waits for `path` under the empty prefix.
 */
export function waitAnnounced(conn: Connection, path: string): Promise<void>;
export function waitAnnounced(conn: Connection, prefix: string, path: string, timeoutMs?: number): Promise<void>;
export async function waitAnnounced(conn: Connection, a: string, b?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const [prefix, path] = b === undefined ? ["", a] : [a, b];
  const watch = watchAnnounced(conn, prefix);
  try {
    await watch.waitFor(path, true, timeoutMs);
  } finally {
    watch.close();
  }
}
