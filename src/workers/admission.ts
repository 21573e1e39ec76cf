// Session limits in a UDP worker process. `[limits] max_sessions` and `max_sessions_per_ip` bound
// the relay as a whole, but each worker admits its own sessions, synchronously, as the main
// process does its TCP ones. So a worker takes a slot from its own Admission first (the limits
// hold within the process at once), then tells the main process, whose Admission counts every
// process's sessions; if that one refuses, the session is closed again (BoundsExceeded) one IPC
// round trip after it opened. The main process handles one worker's messages in order, so a
// release never overtakes its take. That close is the backstop for sessions racing each other:
// before answering a WebTransport CONNECT, the gate asks the main process (checkRelayWide), so a
// relay that is already full refuses with 429 as a single process would.
import type { LimitsConfig } from "../config/types.js";
import { Admission, type Slot } from "../server/admission.js";

/** How long the gate waits for the main process's answer before admitting on the local count. */
const CHECK_TIMEOUT_MS = 1000;
/** Questions in flight at once (the handshake limits bound them well below this). */
const MAX_CHECKS = 4096;

/** The worker's end: `send` reaches the main process (see WorkerPool's "take"/"release"/"check"). */
export class WorkerAdmission extends Admission {
  private next = 1;
  private readonly pending = new Map<number, (reason: string) => void>();
  private nextCheck = 1;
  private readonly checks = new Map<number, (reason: string | undefined) => void>();

  constructor(
    limits: () => Pick<LimitsConfig, "max_sessions" | "max_sessions_per_ip">,
    private readonly send: (m: { type: "take"; id: number; remote: string } | { type: "release"; id: number } | { type: "check"; id: number; remote: string }) => void,
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

  /**
   * The limit the relay as a whole would refuse `remote` with, asked of the main process. Advisory
   * (the slot is taken at accept); an answer later than CHECK_TIMEOUT_MS counts as no objection,
   * and so does a full table of questions in flight (MAX_CHECKS).
   */
  checkRelayWide(remote: string): Promise<string | undefined> {
    const local = this.check(remote);
    if (local !== undefined || this.checks.size >= MAX_CHECKS) return Promise.resolve(local);
    const id = this.nextCheck++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.checked(id, undefined), CHECK_TIMEOUT_MS);
      timer.unref();
      this.checks.set(id, (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
      this.send({ type: "check", id, remote });
    });
  }

  /** The main process's answer to check `id`. */
  checked(id: number, reason: string | undefined): void {
    const fn = this.checks.get(id);
    this.checks.delete(id);
    fn?.(reason);
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
