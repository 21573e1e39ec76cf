// The one typed configuration object. The TOML loader (load.ts) produces it with every default
// filled in; every other part of the relay receives it (or its own section) as an argument and
// reads nothing from the environment or the file system behind its back.
//
// Durations are milliseconds, sizes are bytes, paths are absolute (resolved against the config
// file's directory by the loader).

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export type LogFormat = "auto" | "json" | "pretty";
export type Engine = "auto" | "native" | "fails-quiche";

export interface ServerConfig {
  /** host:port for UDP (QUIC/WebTransport) and TCP (HTTP/WebSocket) alike. Default "[::]:4443". */
  bind: string;
  /** Parsed form of `bind`, filled in by the loader. */
  host: string;
  port: number;
  /** Which HTTP/3 engine serves WebTransport. */
  engine: Engine;
  /** MoQ versions (ALPN identifiers) accepted, most preferred first. */
  versions: string[];
  /** Serve QMux over WebSocket and HTTP routes on the TCP side of `bind`. */
  tcp: boolean;
  /** Serve QUIC/WebTransport on the UDP side of `bind`. */
  udp: boolean;
  quic: QuicConfig;
}

export interface QuicConfig {
  idle_timeout: number;
  keep_alive: number;
  /** Per-stream receive window (bytes). */
  stream_window: number;
  /** Per-connection receive window (bytes). */
  connection_window: number;
  /** Concurrent peer-initiated streams of each kind. */
  max_streams: number;
  /** UDP socket send/receive buffer request (bytes). */
  socket_buffer: number;
}

export interface TlsConfig {
  /** PEM certificate chain (absolute path). */
  cert?: string;
  /** PEM private key (absolute path). */
  key?: string;
  /** Host names/IPs for a self-signed development certificate (ECDSA P-256, ≤ 14 days). */
  generate?: string[];
  /** CA bundle used when this relay dials peers (absolute path). */
  root?: string;
  /** Pinned SHA-256 (hex) of peer certificates, for dialing peers with self-signed certs. */
  fingerprints: string[];
}

export interface PublicAccess {
  publish: string[];
  subscribe: string[];
}

export interface AuthConfig {
  /** One JWK file (absolute path). */
  key?: string;
  /** Several JWK files, selected by `kid`. */
  keys: string[];
  /** A JWKS document: absolute path or http(s) URL. */
  jwks?: string;
  /** How often keys are re-read (ms). */
  refresh: number;
  /** Anonymous access prefixes. */
  public: PublicAccess;
}

export interface ClusterConfig {
  /** Peer relay URLs (this relay's own `node` URL is skipped). */
  nodes: string[];
  /** JWT file presented to peers (absolute path). */
  token?: string;
  /** This relay's own URL. */
  node?: string;
  /** How long a broadcast stays announced after its peer dies ungracefully (ms). */
  linger: number;
}

export interface LogConfig {
  level: LogLevel;
  format: LogFormat;
}

export interface CacheConfig {
  /** Global byte budget for cached group payloads across all tracks. */
  max_bytes: number;
  /** Ceiling on how long a non-latest group is kept, whatever the publisher asks (ms). */
  max_age: number;
  /** How long an upstream subscription stays warm after its last viewer leaves (ms). */
  linger: number;
}

export interface LimitsConfig {
  /** Concurrent sessions across all transports (0 = unlimited). */
  max_sessions: number;
  /** Concurrent sessions from one remote IP (0 = unlimited). */
  max_sessions_per_ip: number;
  /** Largest single moq-lite control message (bytes). */
  max_message_size: number;
  /** Largest single frame payload (bytes). */
  max_frame_size: number;
  /** Broadcasts one session may publish. */
  max_broadcasts_per_session: number;
  /** Subscriptions one session may hold. */
  max_subscriptions_per_session: number;
  /** Time allowed from transport accept to MoQ setup complete (ms). */
  handshake_timeout: number;
  /** Per-subscriber queue of groups in flight before old ones are skipped. */
  subscriber_queue_groups: number;
}

export interface HttpConfig {
  /** Access-Control-Allow-Origin for relay routes. */
  cors: string;
  /** Serve the WebSocket (QMux) upgrade on the TCP port. */
  websocket: boolean;
  /** WebSocket keep-alive ping interval (ms). */
  ping_interval: number;
  /** How long /fetch waits for a broadcast or group (ms). */
  fetch_timeout: number;
  /** Optional separate listener for /health, /ready and /metrics (host:port); unset = main TCP port. */
  ops_bind?: string;
  /** Grace period to drain sessions on SIGTERM (ms). */
  drain_timeout: number;
}

export interface Config {
  /** Absolute path of the file loaded, or undefined for the embedded development default. */
  file?: string;
  server: ServerConfig;
  tls: TlsConfig;
  auth: AuthConfig;
  cluster: ClusterConfig;
  log: LogConfig;
  cache: CacheConfig;
  limits: LimitsConfig;
  http: HttpConfig;
}
