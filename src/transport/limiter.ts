// Counting connections per peer address with a total cap, a per-address cap and a reserve: the last
// eighth of the total is only for addresses that hold nothing yet, so one address (or a few) can
// never fill a listener and lock newcomers out.

/** Release a taken slot; a second call does nothing. */
export type Release = () => void;

export class AddressLimiter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly reserve: number;

  /** `max` and `maxPerAddress` of 0 mean unlimited. */
  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {
    this.reserve = max > 0 ? Math.floor(max / 8) : 0;
  }

  get size(): number {
    return this.total;
  }

  /** Slots `address` holds (an address key, see util/address.ts). */
  held(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Addresses holding at least one slot. */
  get addresses(): number {
    return this.perAddress.size;
  }

  /** Take a slot for `address` (checked and counted in one step), or null when a cap refuses. */
  take(address: string): Release | null {
    const n = this.held(address);
    if (this.maxPerAddress > 0 && n >= this.maxPerAddress) return null;
    if (this.max > 0 && (this.total >= this.max || (n > 0 && this.total >= this.max - this.reserve))) return null;
    this.total++;
    this.perAddress.set(address, n + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.total--;
      const left = this.held(address) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    };
  }
}

/** Counts refusals and logs them at most once per interval, so a flood cannot flood the log. */
export class RefusalLog {
  private count = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly emit: (refused: number) => void,
    private readonly intervalMs = 1000,
  ) {}

  note(): void {
    this.count++;
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    const n = this.count;
    this.count = 0;
    this.emit(n);
  }
}
