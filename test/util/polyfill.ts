// @moq/net and @moq/qmux use APIs that Node 20 lacks. Without Set.prototype.difference every
// announcement made after a subscriber connects silently resets the announce stream, so tests that
// drive the real client import this first.
import { WebSocket } from "ws";

type Resolvers<T> = { promise: Promise<T>; resolve: (v: T | PromiseLike<T>) => void; reject: (e?: unknown) => void };
const P = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> };
if (typeof P.withResolvers !== "function") {
  P.withResolvers = <T>(): Resolvers<T> => {
    let resolve!: Resolvers<T>["resolve"];
    let reject!: Resolvers<T>["reject"];
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

type SetLike<T> = { has(v: T): boolean; keys(): Iterator<T>; size: number };
const S = Set.prototype as unknown as Record<string, unknown>;
function iter<T>(other: SetLike<T>): T[] {
  const out: T[] = [];
  const it = other.keys();
  for (let r = it.next(); !r.done; r = it.next()) out.push(r.value);
  return out;
}
const methods: Record<string, (this: Set<unknown>, other: SetLike<unknown>) => unknown> = {
  difference(other) { return new Set([...this].filter((v) => !other.has(v))); },
  intersection(other) { return new Set([...this].filter((v) => other.has(v))); },
  union(other) { return new Set([...this, ...iter(other)]); },
  symmetricDifference(other) {
    const out = new Set(this);
    for (const v of iter(other)) { if (this.has(v)) out.delete(v); else out.add(v); }
    return out;
  },
  isSubsetOf(other) { return [...this].every((v) => other.has(v)); },
  isSupersetOf(other) { return iter(other).every((v) => this.has(v)); },
  isDisjointFrom(other) { return [...this].every((v) => !other.has(v)); },
};
for (const [name, fn] of Object.entries(methods)) {
  if (typeof S[name] !== "function") Object.defineProperty(Set.prototype, name, { value: fn, writable: true, configurable: true });
}

const G = globalThis as unknown as { WebSocket?: unknown };
if (G.WebSocket === undefined) G.WebSocket = WebSocket;
