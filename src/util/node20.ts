// Node 20 lacks Promise.withResolvers and the ES2025 Set methods, which @moq/qmux (our WebSocket
// transport) and @moq/net use. Without them the relay's first WebSocket session throws. These
// shims install only when the runtime lacks the method (Node 22+ has them all).

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
function items<T>(other: SetLike<T>): T[] {
  const out: T[] = [];
  const it = other.keys();
  for (let r = it.next(); !r.done; r = it.next()) out.push(r.value);
  return out;
}
const methods: Record<string, (this: Set<unknown>, other: SetLike<unknown>) => unknown> = {
  difference(other) {
    return new Set([...this].filter((v) => !other.has(v)));
  },
  intersection(other) {
    return new Set([...this].filter((v) => other.has(v)));
  },
  union(other) {
    return new Set([...this, ...items(other)]);
  },
  symmetricDifference(other) {
    const out = new Set(this);
    for (const v of items(other)) {
      if (this.has(v)) out.delete(v);
      else out.add(v);
    }
    return out;
  },
  isSubsetOf(other) {
    return [...this].every((v) => other.has(v));
  },
  isSupersetOf(other) {
    return items(other).every((v) => this.has(v));
  },
  isDisjointFrom(other) {
    return [...this].every((v) => !other.has(v));
  },
};
const proto = Set.prototype as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(methods)) {
  if (typeof proto[name] !== "function") Object.defineProperty(Set.prototype, name, { value: fn, writable: true, configurable: true });
}

export {};
