// The one typed configuration object, derived from the schema table (schema.ts) so the two cannot
// disagree: a key added to the schema appears here with its type, and reading a key the schema does
// not have fails to compile. The TOML loader (load.ts) produces it with every default filled in;
// every other part of the relay receives it (or its own section) as an argument and reads nothing
// from the environment or the file system behind its back.
//
// Durations are milliseconds, sizes are bytes, paths are absolute (resolved against the config
// file's directory by the loader). Each key's documentation is its `doc` in schema.ts.
import type { KeySpec, KeyType, LOG_LEVELS, SCHEMA, SectionName } from "./schema.js";

export type LogLevel = (typeof LOG_LEVELS)[number];

export interface PublicAccess {
  publish: string[];
  subscribe: string[];
}

/** The value type a key of this type converts to (see convertValue). */
export type ValueOf<T extends KeyType> = T extends { enum: readonly (infer E)[] }
  ? E
  : T extends "bool"
    ? boolean
    : T extends "int" | "size" | "duration"
      ? number
      : T extends "strings" | "paths"
        ? string[]
        : T extends "public"
          ? PublicAccess
          : string;

type Spec<S extends SectionName> = (typeof SCHEMA)[S];
type WithDefault<S extends SectionName> = { [K in keyof Spec<S>]: Spec<S>[K] extends { default: unknown } ? K : never }[keyof Spec<S>];
type Typed<K> = K extends KeySpec ? ValueOf<K["type"]> : never;

/** One schema section as typed values: keys with a default are always set, the others optional. */
export type SectionConfig<S extends SectionName> = { -readonly [K in WithDefault<S>]: Typed<Spec<S>[K]> } & {
  -readonly [K in Exclude<keyof Spec<S>, WithDefault<S>>]?: Typed<Spec<S>[K]>;
};

export type QuicConfig = SectionConfig<"server.quic">;
export type ServerConfig = SectionConfig<"server"> & {
  /** Parsed form of `bind`, filled in by the loader. */
  host: string;
  port: number;
  quic: QuicConfig;
};
export type TlsConfig = SectionConfig<"tls">;
export type AuthConfig = SectionConfig<"auth">;
export type ClusterConfig = SectionConfig<"cluster">;
export type LogConfig = SectionConfig<"log">;
export type LogFormat = LogConfig["format"];
export type CacheConfig = SectionConfig<"cache">;
export type LimitsConfig = SectionConfig<"limits">;
export type HttpConfig = SectionConfig<"http">;
export type Engine = ServerConfig["engine"];

/** Top-level sections; dotted ones ("server.quic") nest inside their parent. */
type TopSection = Exclude<SectionName, `${string}.${string}`>;
type Nested = { server: ServerConfig };

export type Config = {
  [S in TopSection]: S extends keyof Nested ? Nested[S] : SectionConfig<S>;
} & {
  /** Absolute path of the file loaded, or undefined for the embedded development default. */
  file?: string;
};
