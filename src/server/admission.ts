// Who may open a session right now: the total and per-address session limits. One address key for
// every transport (an IPv4 peer seen as `::ffff:1.2.3.4` on a dual-stack socket is `1.2.3.4`), and
// a slot is taken in the same synchronous step that checks it, so concurrent connects cannot
// overshoot a limit while an await is pending between the check and the count.
import type { LimitsConfig } from "../config/types.js";
import { addressKey } from "../util/address.js";

export { addressKey };

/** A taken slot: release it exactly once when the session (or the attempt) ends. */
export interface Slot {
  readonly address: string;
  release(): void;
  /**
   * In a UDP worker process, the relay-wide limits are the main process's to check: this settles
   * with the reason if it refuses the slot after all (the session then closes), and never otherwise.
   */
  readonly revoked?: Promise<string>;
}

export class Admission {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: () => Pick<LimitsConfig, "max_sessions" | "max_sessions_per_ip">) {}

  get size(): number {
    return this.total;
  }

  /**
   * Why `remote` would be refused now, or undefined. Advisory only (for an early HTTP 429 before
   * an upgrade): the authoritative decision is take(), when the session starts.
   */
  check(remote: string): string | undefined {
    const lim = this.limits();
    if (lim.max_sessions > 0 && this.total >= lim.max_sessions) return "too many sessions";
    const n = this.perAddress.get(addressKey(remote)) ?? 0;
    if (lim.max_sessions_per_ip > 0 && n >= lim.max_sessions_per_ip) return "too many sessions from this address";
    return undefined;
  }

  /** Take a slot for `remote`, or say which limit refuses it. Check and count happen together. */
  take(remote: string): Slot | { refused: string } {
    const refused = this.check(remote);
    if (refused !== undefined) return { refused };
    const address = addressKey(remote);
    const n = this.perAddress.get(address) ?? 0;
    this.total++;
    this.perAddress.set(address, n + 1);
    let held = true;
    return {
      address,
      release: () => {
        if (!held) return;
        held = false;
        this.total--;
        const left = (this.perAddress.get(address) ?? 1) - 1;
        if (left <= 0) this.perAddress.delete(address);
        else this.perAddress.set(address, left);
      },
    };
  }
}
