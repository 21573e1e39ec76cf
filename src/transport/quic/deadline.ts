// A connection's one timer, following quiche's timeout(). Every ACK pushes the loss-detection
// deadline later, so re-arming on each flush would cost a timer per packet burst; instead the
// timer is moved only when the deadline comes earlier, and one that fires too early re-arms for
// the rest.
import type { NativeConnection } from "./native.js";

export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance.now() ms); Infinity when none is armed. */
  private at = Infinity;

  constructor(
    private readonly conn: NativeConnection,
    /** quiche's deadline passed: call onTimeout() and flush. */
    private readonly expired: () => void,
  ) {}

  /** Follow quiche's deadline: `t` ms from now, or null for none. */
  arm(t: number | null): void {
    if (t === null) return this.clear();
    const at = performance.now() + t;
    if (this.timer !== undefined && this.at <= at) return;
    clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(this.fire, Math.max(0, t));
  }

  clear(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.at = Infinity;
    const t = this.conn.timeout();
    if (t !== null && t > 0) return this.arm(t);
    this.expired();
  };
}
