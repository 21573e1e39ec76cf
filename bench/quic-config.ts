// QUIC settings shared by the benchmark's main thread and its client worker.
import type { QuicConfig } from "../src/config/types.js";

export const QUIC: QuicConfig = { idle_timeout: 30_000, keep_alive: 5000, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 1000, socket_buffer: 8 << 20, retry: "never" };
