// Session limits in a UDP worker process. `[limits] max_sessions` and `max_sessions_per_ip` bound
// the relay as a whole, but each worker admits its own sessions, synchronously, as the main
// process does its TCP ones. So a worker takes a slot from its own Admission first (the limits
// hold within the process at once), then tells the main process, whose Admission counts every
// process's sessions; if that one refuses, the session is closed again (BoundsExceeded) one IPC
// round trip after it opened. The main process handles one worker's messages in order, so a
// release never overtakes its take.
import type { LimitsConfig } from "../config/types.js";
import { Admission, type Slot } from "../server/admission.js";

/** The worker's end: `send` reaches the main process (see WorkerPool's "take"/"release"). */
export class WorkerAdmission extends Admission {
  private next = 1;
  private readonly pending = new Map<number, (reason: string) => void>();

  constructor(
    limits: () => Pick<LimitsConfig, "max_sessions" | "max_sessions_per_ip">,
    private readonly send: (m: { type: "take"; id: number; remote: string } | { type: "release"; id: number }) => void,
  ) {
    super(limits);
  }

  override take(remote: string): Slot | { refused: string } {
    const local = super.take(remote);
    if ("refused" in local) return local;
    const id = this.next++;
    const revoked = new Promise<string>((resolve) => this.pending.set(id, resolve));
    this.send({ type: "take", id, remote });
    let held = true;
    return {
      address: local.address,
      revoked,
      release: () => {
        if (!held) return;
        held = false;
        this.pending.delete(id);
        local.release();
        this.send({ type: "release", id });
      },
    };
  }

  /** The main process refused slot `id`. */
  refused(id: number, reason: string): void {
    const fn = this.pending.get(id);
    this.pending.delete(id);
    fn?.(reason);
  }
}

/** The main process's end for one worker: its slots, taken from the relay-wide Admission. */
export class WorkerSlots {
  private readonly held = new Map<number, Slot>();

  constructor(private readonly admission: Admission) {}

  /** Take slot `id` for `remote`; the reason when the relay-wide limits refuse it. */
  take(id: number, remote: string): string | undefined {
    const slot = this.admission.take(remote);
    if ("refused" in slot) return slot.refused;
    this.held.set(id, slot);
    return undefined;
  }

  release(id: number): void {
    this.held.get(id)?.release();
    this.held.delete(id);
  }

  /** The worker is gone: its sessions with it. */
  releaseAll(): void {
    for (const s of this.held.values()) s.release();
    this.held.clear();
  }
}
