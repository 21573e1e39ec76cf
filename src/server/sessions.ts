// The live MoQ sessions: each runs until it closes, holding an admission slot meanwhile, and the
// drain asks all of them to go away. Sessions of any protocol fit, through RunningSession.
import { Code } from "../session/error.js";
import type { Admission } from "./admission.js";

/** What the registry needs of a protocol session (moq-lite today; IETF moq-transport next). */
export interface RunningSession {
  /** Resolves when the session is over, with the close code and reason. */
  run(): Promise<{ code: number; reason: string }>;
  /** Ask the peer to reconnect elsewhere (drain). */
  goaway(uri?: string): void;
  close(code: number, reason: string): void;
}

export interface Ended {
  id: number;
  code: number;
  reason: string;
}

export class SessionRegistry {
  private next = 1;
  readonly live = new Map<number, RunningSession>();
  /** Sessions started since the relay started. */
  opened = 0;
  private emptyWaiters: Array<() => void> = [];

  constructor(readonly admission: Admission) {}

  get size(): number {
    return this.live.size;
  }

  /** Allocate the next session id (for log lines written before the session exists). */
  nextId(): number {
    return this.next++;
  }

  /**
   * Run `s` until it closes. The caller took `release` from admission; it is given back exactly
   * once when the session ends, however it ends.
   */
  run(id: number, s: RunningSession, release: () => void): Promise<Ended> {
    this.live.set(id, s);
    this.opened++;
    let ran: Promise<{ code: number; reason: string }>;
    try {
      ran = s.run();
    } catch (err) {
      ran = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return ran
      .then(
        (info) => ({ id, code: info.code, reason: info.reason }),
        // A session that throws is a bug in it; report it as a protocol violation of that session only.
        (err: unknown) => ({ id, code: Code.ProtocolViolation as number, reason: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        this.live.delete(id);
        release();
        if (this.live.size === 0) for (const w of this.emptyWaiters.splice(0)) w();
      });
  }

  /** Resolves when no session is live (at once if none is). */
  whenEmpty(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((r) => this.emptyWaiters.push(r));
  }

  goawayAll(): void {
    for (const s of this.live.values()) s.goaway();
  }

  closeAll(code: number, reason: string): void {
    for (const s of this.live.values()) s.close(code, reason);
  }
}
