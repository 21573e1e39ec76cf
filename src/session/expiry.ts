// A session's credential deadline, shared by moq-lite and IETF sessions: call `expired` once the
// token's expiry passes. setTimeout holds at most ~24.8 days, so a later deadline re-arms.

export class ExpiryTimer {
  private timer: NodeJS.Timeout | undefined;

  /** (Re)arm for `at` (ms since epoch); undefined = the credential never expires. */
  arm(at: number | undefined, expired: () => void): void {
    this.clear();
    if (at === undefined) return;
    const ms = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => (Date.now() < at ? this.arm(at, expired) : expired()), ms);
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
