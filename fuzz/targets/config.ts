// Fuzz target: the TOML config loader (src/config) as `moq-relay relay.toml` runs it: the input
// is a config file's text (decoded as readFileSync decodes it) loaded with no environment and no
// flags. Every mistake must come back as a ConfigError (file, line, key); anything else escaping
// the loader is a crash. The text is handed over in memory: writing and reading a file per input
// held the target at ~200 inputs/s, too slow for full mode's million.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FuzzTarget } from "../target.js";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/config/errors.js";

const dir = mkdtempSync(join(tmpdir(), "moq-fuzz-config-"));
const file = join(dir, "relay.toml");
const enc = new TextEncoder();
const dec = new TextDecoder();

const SEEDS = [
  `[server]\nbind = "127.0.0.1:4443"\nversions = ["moq-lite-05", "moql"]\n[server.quic]\nidle_timeout = "30s"\nstream_window = "16MiB"\n`,
  `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = { publish = ["anon"], subscribe = ["anon", "demo"] }\nclock_skew = "60s"\n`,
  `[cache]\nmax_bytes = "25%"\nmax_age = "30s"\n[limits]\nmax_sessions = 10000\nsubscriber_queue_groups = 4\nfetch_timeout = "8s"\n`,
  `[log]\nlevel = "debug"\nformat = "json"\n[http]\ncors = "*"\nping_interval = "5s"\n`,
  `[cluster]\nnodes = ["https://a.example:4443", "https://b.example:4443"]\nlinger = "5s"\n`,
];

export const target: FuzzTarget = {
  name: "config/toml",
  seeds: SEEDS.map((s) => enc.encode(s)),
  run(input: Uint8Array): void {
    loadConfig({ file, source: dec.decode(input), env: {}, flags: {}, cwd: dir });
  },
  expected: (err) => err instanceof ConfigError,
};
