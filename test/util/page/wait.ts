// Bounded waits. Every helper rejects with "timed out after N ms waiting for <what>".
import type { Getter } from "./types.js";

export const DEFAULT_TIMEOUT_MS = 5000;

type Timer = ReturnType<typeof setTimeout>;

/** Reject after `ms` with a message naming `what`; `onTimeout` tears the attempt down. */
export function within<T>(p: PromiseLike<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolve once `getter` holds a value `pred` accepts (checked now and on every change). */
export function waitUntil<T>(getter: Getter<T>, pred: (v: T) => boolean, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let dispose: (() => void) | undefined;
    const timer = setTimeout(() => {
      dispose?.();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const check = (v: T): boolean => {
      if (!pred(v)) return false;
      clearTimeout(timer);
      dispose?.();
      resolve(v);
      return true;
    };
    if (!check(getter.peek())) dispose = getter.subscribe(check);
  });
}

/** A reset from the peer reads "remote error: <code>". */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Waits over state that a background pump fills in. A timed-out wait takes nothing, so a later
 * wait still sees every group, frame or announcement (no reads lost to a timeout).
 */
export class Waiters {
  readonly #checks = new Set<() => void>();

  /**
   * Resolve with the first non-undefined result of `take`, re-run after every `notify()`.
   * `take` may throw to reject (e.g. the source ended); it must consume only what it returns.
   */
  wait<T>(take: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // True once settled, either way.
      const attempt = (): boolean => {
        try {
          const value = take();
          if (value === undefined) return false;
          resolve(value);
        } catch (err) {
          reject(err);
        }
        return true;
      };
      if (attempt()) return;
      const timer = setTimeout(() => {
        this.#checks.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      const check = (): void => {
        if (!attempt()) return;
        clearTimeout(timer);
        this.#checks.delete(check);
      };
      this.#checks.add(check);
    });
  }

  notify(): void {
    for (const check of [...this.#checks]) check();
  }
}
