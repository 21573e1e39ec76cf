// The contract between the fuzz driver (fuzz/run.ts) and each decoder under test. A target lives
// in fuzz/targets/<name>.ts and exports `target`. The driver feeds it random and mutated inputs
// (seeded from `seeds`) and treats any exception that `expected` does not accept as a crash.

export interface FuzzTarget {
  /** Short unique name, e.g. "lite-05/subscribe", "h3/frame", "qpack", "toml". */
  readonly name: string;
  /** Valid encodings to mutate from (the more message kinds covered, the better). */
  readonly seeds: readonly Uint8Array[];
  /**
   * Decode one input the way the relay would. Return normally for accepted input; throw for
   * rejected input. May return a promise for decoders that run through a session.
   */
  run(input: Uint8Array): void | Promise<void>;
  /** True if `err` is the decoder's named rejection (DecodeError, H3ProtocolError, …), not a bug. */
  expected(err: unknown): boolean;
}
