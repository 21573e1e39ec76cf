// One table describes every configuration key: its type, default and documentation. The loader
// validates against it and fills defaults from it, the MOQ_* environment names derive from it, and
// the tests check that relay.toml.example documents every entry with its default.
import { totalmem } from "node:os";

export type KeyType =
  | "string"
  | "bool"
  | "int"
  | "size"
  | "duration"
  | "strings"
  | "bind"
  | "path"
  | "paths"
  | "path-or-url"
  | "public"
  | { enum: readonly string[] };

export interface KeySpec {
  type: KeyType;
  /** Default value in its TOML form ("25%", 30000); undefined = unset. */
  default?: unknown;
  /** Smallest accepted value for int/size/duration keys, in bytes/ms/units. */
  min?: number;
  /** A reload (SIGHUP) applies a change of this key to the running relay; others need a restart. */
  live?: true;
  doc: string;
}

export type Section = Record<string, KeySpec>;

const KiB = 1024;
const MiB = 1024 * KiB;

/** MoQ versions (ALPN identifiers) this relay speaks, most preferred first. */
export const VERSIONS = ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql", "moqt-20", "moqt-19", "moqt-18", "moqt-17", "moqt-16", "moqt-15", "moq-00"] as const;

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

// Section order is the documentation order (relay.toml.example follows it).
export const SCHEMA = {
  server: {
    bind: { type: "bind", default: "[::]:4443", doc: "UDP for QUIC/WebTransport and TCP on the same port for HTTP/WebSocket" },
    engine: { type: { enum: ["auto", "native", "fails-quiche"] }, default: "auto", doc: "HTTP/3 engine: auto picks our own" },
    versions: { type: "strings", default: [...VERSIONS], doc: "MoQ versions accepted, most preferred first" },
    tcp: { type: "bool", default: true, doc: "serve HTTP routes and QMux over WebSocket on TCP" },
    udp: { type: "bool", default: true, doc: "serve WebTransport and raw QUIC on UDP" },
    workers: { type: "int", default: 0, min: 0, doc: "processes serving UDP, each on its own SO_REUSEPORT socket (0 = one per core; Node >= 22.12, else 1)" },
  },
  "server.quic": {
    idle_timeout: { type: "duration", default: "30s", doc: "close a connection after this long without packets" },
    keep_alive: { type: "duration", default: "5s", doc: "send a keep-alive when idle this long (0 = off)" },
    stream_window: { type: "size", default: "16MiB", min: 64 * KiB, doc: "receive window per stream" },
    connection_window: { type: "size", default: "64MiB", min: 64 * KiB, doc: "receive window per connection" },
    max_streams: { type: "int", default: 10_000, min: 1, doc: "concurrent peer-opened streams of each kind" },
    socket_buffer: { type: "size", default: "8MiB", doc: "UDP socket buffer request (the kernel may clamp it)" },
    retry: { type: { enum: ["auto", "never", "always"] }, default: "auto", doc: "stateless Retry (address validation) before a handshake: auto = once handshakes pile up" },
  },
  tls: {
    cert: { type: "path", live: true, doc: "PEM certificate chain" },
    key: { type: "path", live: true, doc: "PEM private key" },
    generate: { type: "strings", doc: "host names for a self-signed development certificate (ECDSA P-256, 14 days, renewed)" },
    root: { type: "path", doc: "CA bundle trusted when dialing cluster peers" },
    fingerprints: { type: "strings", default: [], doc: "SHA-256 (hex) of peer certificates to accept when dialing" },
  },
  auth: {
    public: { type: "public", default: { publish: [], subscribe: [] }, live: true, doc: "anonymous access: a prefix, a list, or { publish = [...], subscribe = [...] }" },
    key: { type: "path", live: true, doc: "JWK file that verifies tokens" },
    keys: { type: "paths", default: [], live: true, doc: "several JWK files, chosen by the token's kid" },
    jwks: { type: "path-or-url", live: true, doc: "a JWKS document (file or https URL)" },
    refresh: { type: "duration", default: "1m", doc: "how often key files and JWKS are re-read (0 = never)" },
    clock_skew: { type: "duration", default: "60s", live: true, doc: "tolerance for token nbf and iat in the future (clocks differ)" },
  },
  cluster: {
    nodes: { type: "strings", default: [], doc: "peer relay URLs (this relay's own node is skipped); ?cost=N sets the link cost, ?fingerprint=sha256:<hex> pins its certificate" },
    connect: { type: "strings", default: [], doc: "alias of nodes (the Rust relay's name); both lists are dialed" },
    token: { type: "path", doc: "JWT file presented to peers" },
    node: { type: "string", doc: "this relay's own URL" },
    linger: { type: "duration", default: "5s", doc: "keep a dead peer's broadcasts announced this long" },
    tls_root: { type: "path", doc: "CA bundle that peer certificates must chain to (default: system roots plus NODE_EXTRA_CA_CERTS)" },
    insecure: { type: "bool", default: false, doc: "dial peers without verifying their certificates (warns at every dial; never in production)" },
  },
  log: {
    level: { type: { enum: LOG_LEVELS }, default: "info", live: true, doc: "log level" },
    format: { type: { enum: ["auto", "json", "pretty"] }, default: "auto", doc: "auto = pretty on a terminal, JSON otherwise" },
  },
  cache: {
    max_bytes: { type: "size", default: "25%", min: 1 * MiB, live: true, doc: "byte budget for cached groups across all tracks (bytes, \"512MiB\" or \"25%\" of RAM)" },
    max_age: { type: "duration", default: "30s", doc: "ceiling on how long an older group is kept" },
    linger: { type: "duration", default: "5s", doc: "keep an upstream subscription warm after its last viewer leaves" },
  },
  limits: {
    max_sessions: { type: "int", default: 10_000, live: true, doc: "concurrent sessions (0 = unlimited)" },
    max_sessions_per_ip: { type: "int", default: 0, live: true, doc: "concurrent sessions from one address (0 = unlimited)" },
    max_message_size: { type: "size", default: "64KiB", min: 1 * KiB, live: true, doc: "largest moq-lite control message" },
    max_frame_size: { type: "size", default: "16MiB", min: 1 * KiB, live: true, doc: "largest frame payload" },
    max_broadcasts_per_session: { type: "int", default: 1_000, min: 1, live: true, doc: "broadcasts one session may publish" },
    max_subscriptions_per_session: { type: "int", default: 10_000, min: 1, live: true, doc: "subscriptions one session may hold" },
    handshake_timeout: { type: "duration", default: "10s", min: 100, live: true, doc: "time from connect to MoQ setup" },
    head_timeout: { type: "duration", default: "5s", min: 100, doc: "deadline for each TCP step before a request: first byte, TLS handshake, HTTP request head" },
    max_handshakes: { type: "int", default: 1024, min: 1, doc: "connections in a handshake at once, per transport (TCP before its request, QUIC before established)" },
    max_handshakes_per_ip: { type: "int", default: 32, min: 1, doc: "connections in a handshake from one address" },
    max_header_size: { type: "size", default: "16KiB", min: 1 * KiB, doc: "largest HTTP request head (HTTP/1.1 and HTTP/3 field sections)" },
    max_capsule_size: { type: "size", default: "64KiB", min: 1 * KiB, doc: "largest HTTP/3 capsule on a WebTransport CONNECT stream" },
    subscriber_queue_groups: { type: "int", default: 4, min: 1, doc: "groups in flight per viewer before it skips to the newest" },
    subscriber_max_latency: { type: "duration", default: 0, doc: "for viewers that ask no max latency: an older group whose oldest unsent frame is older than this is dropped (reset with Old) (0 = half the track's group interval, at least 500 ms)" },
    max_fetches_per_session: { type: "int", default: 32, min: 1, live: true, doc: "concurrent FETCH requests one session may have open" },
    fetch_timeout: { type: "duration", default: "8s", min: 100, live: true, doc: "how long a FETCH may wait for its group before it is reset" },
    max_pending_requests: { type: "int", default: 64, min: 1, live: true, doc: "requests a session may open before its SETUP scoped it" },
  },
  http: {
    cors: { type: "string", default: "*", doc: "Access-Control-Allow-Origin for relay routes" },
    websocket: { type: "bool", default: true, doc: "accept QMux over WebSocket on the TCP port" },
    ping_interval: { type: "duration", default: "5s", doc: "WebSocket keep-alive ping interval" },
    fetch_timeout: { type: "duration", default: "30s", min: 1, live: true, doc: "how long /fetch waits for a broadcast or group" },
    ops_bind: { type: "bind", doc: "operations listener for /metrics, /health, /ready and /nodes (unset = /metrics on the main port, loopback clients only)" },
    drain_timeout: { type: "duration", default: "30s", live: true, doc: "on SIGTERM, how long sessions get to finish" },
    page: { type: "bool", default: false, doc: "serve the browser page (publish, watch, relay status) at / on the TCP port; on without a config file" },
  },
} as const satisfies Record<string, Section>;

/** The schema's sections, by name ("server", "server.quic", ...). */
export type SectionName = keyof typeof SCHEMA;

/** Lookup by a name only known at run time (a file's section, a flag's key path). */
export function sectionOf(name: string): Section | undefined {
  return Object.hasOwn(SCHEMA, name) ? (SCHEMA as Record<string, Section>)[name] : undefined;
}

/** The spec for "section.key" (sections may be dotted: "server.quic.idle_timeout"). */
export function specOf(path: string): KeySpec | undefined {
  const i = path.lastIndexOf(".");
  if (i < 0) return undefined;
  const section = sectionOf(path.slice(0, i));
  const key = path.slice(i + 1);
  return section !== undefined && Object.hasOwn(section, key) ? section[key] : undefined;
}

/** Whether a reload (SIGHUP) applies a change of this key without a restart. */
export function isLive(path: string): boolean {
  return specOf(path)?.live === true;
}

/** Every key path, in documentation order. */
export function keyPaths(): string[] {
  return Object.entries(SCHEMA).flatMap(([s, keys]) => Object.keys(keys).map((k) => `${s}.${k}`));
}

/**
 * Memory that percentage sizes refer to: the machine's RAM, or the container's cgroup limit when
 * that is smaller (25% of the host's RAM inside a 2 GiB container would get the relay OOM-killed).
 */
export function memoryLimit(): number {
  // Read once per process: every size key asks, and the cgroup read costs ~40 µs each time.
  if (limit === undefined) {
    const total = totalmem();
    const constrained = process.constrainedMemory();
    limit = constrained > 0 && constrained < total ? constrained : total;
  }
  return limit;
}

let limit: number | undefined;
