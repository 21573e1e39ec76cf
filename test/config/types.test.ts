// The Config type is derived from the schema table. The type-level checks below are compiled by
// `npm run typecheck` (part of `npm run lint`): a key the schema does not have must not compile,
// and every schema key must be readable with its value type. The runtime test checks that the
// loader fills exactly the schema's keys, so the object matches its type.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.js";
import { SCHEMA, type SectionName } from "../../src/config/schema.js";
import type { CacheConfig, Config, LimitsConfig, SectionConfig, ValueOf } from "../../src/config/types.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const is = <T extends true>(): T => true as T;

// Each key type maps to the value convertValue produces.
is<Equal<ValueOf<"duration">, number>>();
is<Equal<ValueOf<"paths">, string[]>>();
is<Equal<ValueOf<{ enum: readonly ["a", "b"] }>, "a" | "b">>();
// Keys with a default are always set; keys without one are optional.
is<Equal<Config["http"]["drain_timeout"], number>>();
is<Equal<Config["http"]["ops_bind"], string | undefined>>();
is<Equal<Config["log"]["level"], "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent">>();
is<Equal<Config["auth"]["public"], { publish: string[]; subscribe: string[] }>>();
// The public section names are the derived ones.
is<Equal<CacheConfig, SectionConfig<"cache">>>();
is<Equal<LimitsConfig, Config["limits"]>>();
// Every schema section and key is in Config (a key added to the schema appears here).
type SchemaKeys<S extends SectionName> = keyof (typeof SCHEMA)[S];
is<Equal<SchemaKeys<"cache">, keyof CacheConfig>>();
is<Equal<SchemaKeys<"cluster">, keyof Config["cluster"]>>();
is<Equal<SchemaKeys<"server.quic">, keyof Config["server"]["quic"]>>();

function unknownKeysDoNotCompile(c: Config): unknown[] {
  return [
    // @ts-expect-error -- not in the schema
    c.cache.max_items,
    // @ts-expect-error -- not in the schema
    c.http.metrics_bind,
    // @ts-expect-error -- no such section
    c.metrics,
  ];
}

test("the loader fills exactly the schema's keys, section by section", () => {
  const { config } = loadConfig({ env: {}, flags: {} });
  for (const [name, keys] of Object.entries(SCHEMA)) {
    const [top, sub] = name.split(".");
    const section = (sub === undefined ? config[top as keyof Config] : (config[top as keyof Config] as unknown as Record<string, unknown>)[sub]) as Record<string, unknown>;
    const extra = top === "server" && sub === undefined ? ["host", "port", "quic"] : [];
    assert.deepEqual(Object.keys(section).sort(), [...Object.keys(keys), ...extra].sort(), `[${name}]`);
  }
  const tops = Object.keys(SCHEMA).filter((s) => !s.includes("."));
  assert.deepEqual(Object.keys(config).filter((k) => k !== "file").sort(), tops.sort());
  assert.equal(unknownKeysDoNotCompile.length, 1);
});
